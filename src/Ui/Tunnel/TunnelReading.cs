using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Ui.Tunnel.Timeline;

namespace JumpingVpn.Ui.Tunnel;

/// <summary>
/// One read of a running tunnel over its UAPI socket, the way <c>jvpn status</c> reads it: <c>get=1</c> for the
/// interface and peers, <c>jvpn_session=1</c> for the Jumping sessions and paths (empty for another userspace
/// WireGuard, which refuses the extension).
/// </summary>
public sealed record TunnelReading(UapiDeviceSnapshot Device, IReadOnlyDictionary<string, SessionStatusRecord> Sessions)
{
    /// <summary>Reads interface <paramref name="interfaceName"/>; throws <see cref="UapiException"/> when it does not answer.</summary>
    public static TunnelReading Read(string interfaceName, string? socketDirectory)
    {
        UapiDeviceSnapshot device = UapiClient.GetSnapshot(interfaceName, socketDirectory);
        return new TunnelReading(device, UapiClient.GetSessions(interfaceName, socketDirectory));
    }

    /// <summary>The client's session (a client tunnel has one server peer); null on a server or without the session layer.</summary>
    public SessionStatusRecord? ClientSession
    {
        get
        {
            foreach (UapiPeerSnapshot p in Device.Peers)
            {
                if (Sessions.TryGetValue(Convert.ToHexStringLower(p.PublicKey), out SessionStatusRecord? s) && s.Role == "client")
                {
                    return s;
                }
            }
            return null;
        }
    }

    /// <summary>What the timeline takes from this reading: counters summed over peers, the client's paths and switches.</summary>
    public TimelineInput ToTimelineInput()
    {
        ulong rx = 0;
        ulong tx = 0;
        foreach (UapiPeerSnapshot p in Device.Peers)
        {
            rx += p.RxBytes;
            tx += p.TxBytes;
        }
        SessionStatusRecord? s = ClientSession;
        return new TimelineInput(rx, tx, s?.Paths ?? [], s?.RecentSwitches ?? []);
    }
}
