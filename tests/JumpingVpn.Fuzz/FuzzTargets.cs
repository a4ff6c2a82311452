using JumpingVpn.Fuzz.Targets;

namespace JumpingVpn.Fuzz;

/// <summary>Every target, by the name scripts/fuzz.sh and the corpus directories use (docs/fuzzing.md).</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("datagram", "datagram classification and handshake message parsing (WireGuardDevice)", DatagramTarget.Run, DatagramTarget.Seeds),
        new("frames", "control frame envelope and every frame's TryParse", ControlFrameTarget.Run, ControlFrameTarget.Seeds),
        new("uapi", "UAPI request reading and set/get parsing", UapiTarget.Run, UapiTarget.Seeds),
        new("config", "wg-quick config parser", ConfigTarget.Run, ConfigTarget.Seeds),
        new("peers", "peers-file parser", PeersFileTarget.Run, PeersFileTarget.Seeds),
        new("offload", "TCP GRO coalescer and GSO splitter", OffloadTarget.Run, OffloadTarget.Seeds),
    ];

    public static FuzzTarget? Find(string name)
    {
        foreach (FuzzTarget t in All)
        {
            if (t.Name == name)
            {
                return t;
            }
        }
        return null;
    }
}
