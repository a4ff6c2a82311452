using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Every data-plane optimisation keeps a working fallback (data-plane speed issue): with TUN offloads,
/// UDP GSO and UDP GRO switched off through their env switches (all together, or one at a time), the
/// tunnel must still carry ping and TCP, and interoperate with wireguard-go, which has none of them.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class OffloadFallbackTests
{
    private static readonly Dictionary<string, string> AllOff = new()
    {
        ["JVPN_DISABLE_TUN_OFFLOAD"] = "1",
        ["JVPN_DISABLE_GSO"] = "1",
        ["JVPN_DISABLE_GRO"] = "1",
    };

    [Fact]
    public void Tunnel_works_with_every_offload_disabled()
    {
        Requirements.Ensure("jvpn", "wg", "ping", "iperf3");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, AllOff);
        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: true);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: false);
    }

    [Theory]
    [InlineData("JVPN_DISABLE_TUN_OFFLOAD")]
    [InlineData("JVPN_DISABLE_GSO")]
    [InlineData("JVPN_DISABLE_GRO")]
    public void Tunnel_works_with_one_offload_disabled(string switchName)
    {
        Requirements.Ensure("jvpn", "wg", "ping", "iperf3");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, new Dictionary<string, string> { [switchName] = "1" });
        TunnelScenarios.AssertPing(tunnel, ipv6: true);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: true);
    }

    [Fact]
    public void Fallback_jvpn_interoperates_with_wireguard_go()
    {
        Requirements.Ensure("jvpn", "wg", "ping", "iperf3", "wireguard-go");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.WireGuardGo, PeerKind.Jvpn, AllOff);
        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: true);
        TunnelScenarios.AssertIperf(tunnel, clientToServer: false);
    }
}
