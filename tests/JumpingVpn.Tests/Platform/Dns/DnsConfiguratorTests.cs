using System.Net;
using JumpingVpn.Platform.Net.Linux;

namespace JumpingVpn.Tests.Platform.Dns;

public sealed class DnsConfiguratorTests
{
    private static readonly IPAddress[] Servers = [IPAddress.Parse("10.77.0.1"), IPAddress.Parse("fd77::1")];

    [Fact]
    public void Resolved_is_preferred_when_it_runs()
    {
        Assert.Equal(DnsConfigurator.Backend.Resolved,
            DnsConfigurator.Detect(n => "/usr/bin/" + n, d => d == "/run/systemd/resolve"));
        Assert.Equal(DnsConfigurator.Backend.Resolvconf,
            DnsConfigurator.Detect(n => n == "resolvconf" || n == "resolvectl" ? "/sbin/" + n : null, _ => false));
        Assert.Equal(DnsConfigurator.Backend.None, DnsConfigurator.Detect(_ => null, _ => true));
    }

    [Fact]
    public void Full_tunnel_with_resolved_routes_every_query_through_the_link_and_reverts_it()
    {
        DnsConfigurator.DnsPlan plan = DnsConfigurator.Plan(DnsConfigurator.Backend.Resolved, "jv0", Servers, ["corp.example"], fullTunnel: true);
        Assert.Equal(
            ["resolvectl dns jv0 10.77.0.1 fd77::1", "resolvectl domain jv0 corp.example ~.", "resolvectl default-route jv0 true"],
            plan.Apply.Select(s => s.ToString()));
        Assert.Equal(["resolvectl revert jv0"], plan.Revert.Select(s => s.ToString()));
    }

    [Fact]
    public void Split_tunnel_with_resolved_only_sets_the_links_servers_and_search_domains()
    {
        DnsConfigurator.DnsPlan plan = DnsConfigurator.Plan(DnsConfigurator.Backend.Resolved, "jv0", Servers, [], fullTunnel: false);
        Assert.Equal(["resolvectl dns jv0 10.77.0.1 fd77::1"], plan.Apply.Select(s => s.ToString()));
    }

    [Fact]
    public void Resolvconf_gets_a_resolv_conf_fragment_on_stdin_like_wg_quick()
    {
        DnsConfigurator.DnsPlan plan = DnsConfigurator.Plan(DnsConfigurator.Backend.Resolvconf, "jv0", Servers, ["a.example", "b.example"], fullTunnel: true);
        DnsConfigurator.Step step = Assert.Single(plan.Apply);
        Assert.Equal("resolvconf -a tun.jv0 -m 0 -x", step.ToString());
        Assert.Equal("nameserver 10.77.0.1\nnameserver fd77::1\nsearch a.example b.example\n", step.Stdin);
        Assert.Equal(["resolvconf -d tun.jv0 -f"], plan.Revert.Select(s => s.ToString()));
    }

    [Fact]
    public void No_dns_in_the_config_means_nothing_to_do()
    {
        DnsConfigurator.DnsPlan plan = DnsConfigurator.Plan(DnsConfigurator.Backend.Resolved, "jv0", [], [], fullTunnel: true);
        Assert.Empty(plan.Apply);
        Assert.Empty(plan.Revert);
    }
}
