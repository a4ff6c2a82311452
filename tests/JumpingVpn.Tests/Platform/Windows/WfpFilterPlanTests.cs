using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.KillSwitch;
using JumpingVpn.Platform.Net.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>
/// The Windows kill switch's filter set (docs/platform.md §3.4) built from the same rules as the Linux table:
/// weights in the order that makes WFP's first match the intended one, conditions per filter, keys stable and
/// covered by what removal deletes.
/// </summary>
public sealed class WfpFilterPlanTests
{
    private const ulong Luid = 0x0006_0000_0100_0000;

    private static readonly KillSwitchRules Rules = new(
        "jv0",
        [IPEndPoint.Parse("192.0.2.1:51820"), IPEndPoint.Parse("[2001:db8::1]:51821")],
        [IPAddress.Parse("10.64.0.1")],
        null);

    private static string Describe(WfpFilterSpec f) =>
        $"{(f.Layer == WfpLayer.AleAuthConnectV4 ? "v4" : "v6")} w{f.Weight} {(f.Permit ? "permit" : "block")} [{string.Join(", ", f.Conditions)}]";

    [Fact]
    public void The_filters_permit_only_loopback_tunnel_dns_servers_and_link_upkeep()
    {
        IReadOnlyList<WfpFilterSpec> plan = WfpFilterPlan.Build(Rules, Luid);

        Assert.Equal(
            [
                "v4 w15 permit [flags 1 all set]",
                "v4 w14 permit [interface luid 6000001000000, remote address 10.64.0.1, RemotePort 53]",
                "v4 w13 block [RemotePort 53]",
                "v4 w12 permit [interface luid 6000001000000]",
                "v4 w11 permit [Protocol 17, remote address 192.0.2.1, RemotePort 51820, application jvpn]",
                "v4 w10 permit [Protocol 17, LocalPort 68, RemotePort 67]",
                "v4 w0 block []",
                "v6 w15 permit [flags 1 all set]",
                "v6 w13 block [RemotePort 53]",
                "v6 w12 permit [interface luid 6000001000000]",
                "v6 w11 permit [Protocol 17, remote address 2001:db8::1, RemotePort 51821, application jvpn]",
                "v6 w10 permit [Protocol 17, LocalPort 546, RemotePort 547]",
                "v6 w10 permit [Protocol 58, IcmpType 133]",
                "v6 w10 permit [Protocol 58, IcmpType 135]",
                "v6 w10 permit [Protocol 58, IcmpType 136]",
                "v6 w10 permit [Protocol 58, IcmpType 143]",
                "v6 w0 block []",
            ],
            plan.Select(Describe));
    }

    /// <summary>"Allow LAN": a permit per subnet and family at weight 11, below the DNS block (13), so a LAN resolver
    /// stays refused while the rest of the subnet is reachable.</summary>
    [Fact]
    public void Allow_lan_permits_each_subnet_below_the_dns_block()
    {
        KillSwitchRules rules = Rules.WithLan([new LanSubnet("Wi-Fi", IpPrefix.Parse("192.168.1.0/24")), new LanSubnet("Wi-Fi", IpPrefix.Parse("fe80::/64"))]);

        IReadOnlyList<WfpFilterSpec> plan = WfpFilterPlan.Build(rules, Luid);

        WfpFilterSpec v4 = plan.Single(f => f.Name.EndsWith("v4 lan 0", StringComparison.Ordinal));
        WfpFilterSpec v6 = plan.Single(f => f.Name.EndsWith("v6 lan 1", StringComparison.Ordinal));
        Assert.Equal("v4 w11 permit [remote subnet 192.168.1.0/24]", Describe(v4));
        Assert.Equal("v6 w11 permit [remote subnet fe80::/64]", Describe(v6));
        Assert.Equal(0xC0A80100UL, v4.Conditions[0].Number);
        Assert.Equal(24, v4.Conditions[0].PrefixLength);
        Assert.Equal(IPAddress.Parse("fe80::").GetAddressBytes(), v6.Conditions[0].Address16);
        Assert.DoesNotContain(plan, f => f.Name.EndsWith("v6 lan 0", StringComparison.Ordinal) || f.Name.EndsWith("v4 lan 1", StringComparison.Ordinal));
        Assert.True(plan.Single(f => f.Name.EndsWith("v4 other dns", StringComparison.Ordinal)).Weight > v4.Weight);
        Assert.All(plan, f => Assert.Contains(f.Key, WfpFilterPlan.AllKeys("jv0")));
    }

    [Fact]
    public void Without_dns_servers_there_is_no_dns_rule_of_its_own()
    {
        IReadOnlyList<WfpFilterSpec> plan = WfpFilterPlan.Build(Rules with { DnsServers = [] }, Luid);

        Assert.DoesNotContain(plan, f => f.Conditions.Any(c => c.Field == WfpField.RemotePort && c.Number == 53));
    }

    [Fact]
    public void Ipv4_addresses_go_in_host_order_and_ipv6_as_sixteen_bytes()
    {
        IReadOnlyList<WfpFilterSpec> plan = WfpFilterPlan.Build(Rules, Luid);

        WfpCondition v4 = plan.Single(f => f.Name.EndsWith("v4 server 0", StringComparison.Ordinal)).Conditions.Single(c => c.Field == WfpField.RemoteAddress);
        WfpCondition v6 = plan.Single(f => f.Name.EndsWith("v6 server 1", StringComparison.Ordinal)).Conditions.Single(c => c.Field == WfpField.RemoteAddress);
        Assert.Equal(0xC0000201UL, v4.Number);
        Assert.Null(v4.Address16);
        Assert.Equal(IPAddress.Parse("2001:db8::1").GetAddressBytes(), v6.Address16);
    }

    [Fact]
    public void Keys_are_stable_per_tunnel_and_removal_covers_every_one()
    {
        IReadOnlyList<WfpFilterSpec> a = WfpFilterPlan.Build(Rules, Luid);
        IReadOnlyList<WfpFilterSpec> again = WfpFilterPlan.Build(Rules, Luid + 1);
        IReadOnlyList<WfpFilterSpec> other = WfpFilterPlan.Build(Rules with { TunnelInterface = "jv1" }, Luid);
        IReadOnlyList<Guid> removable = WfpFilterPlan.AllKeys("jv0");

        Assert.Equal(a.Select(f => f.Key), again.Select(f => f.Key));
        Assert.Empty(a.Select(f => f.Key).Intersect(other.Select(f => f.Key)));
        Assert.Equal(a.Count, a.Select(f => f.Key).Distinct().Count());
        Assert.All(a, f => Assert.Contains(f.Key, removable));
        Assert.NotEqual(WfpFilterPlan.SubLayerKey("jv0"), WfpFilterPlan.SubLayerKey("jv1"));
        Assert.Equal(4, (WfpFilterPlan.ProviderKey.ToByteArray()[7] >> 4)); // a well-formed version-4 GUID
    }

    [Fact]
    public void Too_many_servers_are_refused_rather_than_left_unremovable()
    {
        var many = Enumerable.Range(1, WfpFilterPlan.MaxServers + 1).Select(i => new IPEndPoint(IPAddress.Parse($"192.0.2.{i}"), 51820)).ToList();

        Assert.Throws<JumpingVpn.Platform.PlatformException>(() => WfpFilterPlan.Build(Rules with { Servers = many }, Luid));
    }
}
