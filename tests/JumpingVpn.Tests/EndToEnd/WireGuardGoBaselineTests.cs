using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>wireguard-go on both ends: proves the harness (namespaces, veth, configs, ping, iperf3)
/// independently of jvpn, so a jvpn failure is not a harness failure.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WireGuardGoBaselineTests
{
    [Fact]
    public void Ping_through_tunnel_ipv4_and_ipv6()
    {
        Requirements.Ensure("wireguard-go", "wg", "ping");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.WireGuardGo, PeerKind.WireGuardGo);

        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        TunnelScenarios.AssertPing(tunnel, ipv6: true);
        TunnelScenarios.AssertWgShowSeesPeer(tunnel);
    }

    [Fact]
    public void Ping_over_ipv6_underlay()
    {
        Requirements.Ensure("wireguard-go", "wg", "ping");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.WireGuardGo, PeerKind.WireGuardGo, ipv6Endpoint: true);

        TunnelScenarios.AssertPing(tunnel, ipv6: false);
    }

    [Fact]
    public void Iperf3_tcp_through_tunnel()
    {
        Requirements.Ensure("wireguard-go", "wg", "ping", "iperf3");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.WireGuardGo, PeerKind.WireGuardGo);

        TunnelScenarios.AssertIperf(tunnel, clientToServer: true);
    }
}
