using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>jvpn against the reference implementation in both roles: the wire format, handshake and
/// keying must match wireguard-go byte for byte or nothing gets through.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class InteropTests
{
    [Theory]
    [InlineData(PeerKind.WireGuardGo, PeerKind.Jvpn)]
    [InlineData(PeerKind.Jvpn, PeerKind.WireGuardGo)]
    internal void Ping_and_iperf3_both_ways(PeerKind server, PeerKind client)
    {
        Requirements.Ensure("jvpn", "wireguard-go", "wg", "ping", "iperf3");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(server, client);

        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        TunnelScenarios.AssertPing(tunnel, ipv6: true);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: true);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: false);
        TunnelScenarios.AssertWgShowSeesPeer(tunnel);
    }
}
