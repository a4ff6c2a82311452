using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.KillSwitch;
using JumpingVpn.Platform.Net.Linux;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Platform.Net;

/// <summary>
/// The kill switch's nftables script (docs/platform.md §4.8) as a pure function of the rules: the exact text the
/// kernel gets, the table naming, and (with nft at hand) that nft accepts it.
/// </summary>
public sealed class NftKillSwitchScriptTests
{
    private static readonly KillSwitchRules Full = new(
        "jv0",
        [IPEndPoint.Parse("192.0.2.1:51820"), IPEndPoint.Parse("[2001:db8::1]:51820"), IPEndPoint.Parse("198.51.100.7:4500")],
        [IPAddress.Parse("10.64.0.1"), IPAddress.Parse("fd00::53")],
        0xca6c);

    [Fact]
    public void The_script_allows_only_tunnel_loopback_link_upkeep_servers_and_the_tunnels_dns()
    {
        string script = NftKillSwitchScript.Install(Full);

        Assert.Equal(
            """
            table inet jvpn_ks_jv0
            delete table inet jvpn_ks_jv0
            table inet jvpn_ks_jv0 {
            	chain output {
            		type filter hook output priority filter; policy drop;
            		oifname "lo" accept
            		meta l4proto { tcp, udp } th dport 53 jump dns
            		oifname "jv0" accept
            		meta mark 0x0000ca6c ip daddr . udp dport { 192.0.2.1 . 51820, 198.51.100.7 . 4500 } accept
            		meta mark 0x0000ca6c ip6 daddr . udp dport { 2001:db8::1 . 51820 } accept
            		meta nfproto ipv4 udp sport 68 udp dport 67 accept
            		meta nfproto ipv6 udp sport 546 udp dport 547 accept
            		icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } accept
            		meta l4proto tcp counter reject with tcp reset
            		counter reject with icmpx type admin-prohibited
            	}
            	chain forward {
            		type filter hook forward priority filter; policy drop;
            		oifname "jv0" accept
            		meta l4proto tcp counter reject with tcp reset
            		counter reject with icmpx type admin-prohibited
            	}
            	chain dns {
            		oifname "jv0" ip daddr { 10.64.0.1 } accept
            		oifname "jv0" ip6 daddr { fd00::53 } accept
            		meta l4proto tcp counter reject with tcp reset
            		counter reject with icmpx type admin-prohibited
            	}
            }

            """.ReplaceLineEndings("\n"),
            script);
    }

    [Fact]
    public void Without_dns_servers_dns_may_go_anywhere_but_only_through_the_tunnel()
    {
        string script = NftKillSwitchScript.Install(Full with { DnsServers = [] });

        string dns = script[script.IndexOf("chain dns", StringComparison.Ordinal)..];
        Assert.Contains("\t\toifname \"jv0\" accept\n\t\tmeta l4proto tcp counter reject", dns, StringComparison.Ordinal);
        Assert.DoesNotContain("daddr", dns, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_mark_the_server_rule_matches_address_and_port_only()
    {
        string script = NftKillSwitchScript.Install(Full with { SocketMark = null });

        Assert.Contains("\t\tip daddr . udp dport { 192.0.2.1 . 51820, 198.51.100.7 . 4500 } accept\n", script, StringComparison.Ordinal);
        Assert.DoesNotContain("meta mark", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Mapped_and_repeated_server_addresses_become_one_ipv4_element()
    {
        var rules = new KillSwitchRules("jv0", [IPEndPoint.Parse("[::ffff:192.0.2.1]:51820"), IPEndPoint.Parse("192.0.2.1:51820")], [], 1);

        string script = NftKillSwitchScript.Install(rules);

        Assert.Contains("ip daddr . udp dport { 192.0.2.1 . 51820 } accept", script, StringComparison.Ordinal);
        Assert.DoesNotContain("ip6 daddr . udp dport", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_servers_nothing_may_leave_but_the_tunnel_and_link_upkeep()
    {
        string script = NftKillSwitchScript.Install(Full with { Servers = [] });

        Assert.DoesNotContain("udp dport {", script, StringComparison.Ordinal);
    }

    /// <summary>"Allow LAN" (docs/platform.md §4.8): one accept per subnet out of the interface it is connected on,
    /// after the DNS jump (a LAN resolver stays refused) and before the reject.</summary>
    [Fact]
    public void Allow_lan_accepts_each_subnet_out_of_its_interface_after_the_dns_jump()
    {
        KillSwitchRules rules = Full.WithLan([new LanSubnet("wlan0", IpPrefix.Parse("192.168.1.0/24")), new LanSubnet("wlan0", IpPrefix.Parse("fe80::/64"))]);

        string script = NftKillSwitchScript.Install(rules);
        string output = script[..script.IndexOf("chain forward", StringComparison.Ordinal)];

        Assert.Contains("\t\toifname \"wlan0\" ip daddr 192.168.1.0/24 accept\n\t\toifname \"wlan0\" ip6 daddr fe80::/64 accept\n", output, StringComparison.Ordinal);
        Assert.True(output.IndexOf("th dport 53 jump dns", StringComparison.Ordinal) < output.IndexOf("192.168.1.0/24", StringComparison.Ordinal));
        Assert.True(output.IndexOf("192.168.1.0/24", StringComparison.Ordinal) < output.IndexOf("reject", StringComparison.Ordinal));
        Assert.DoesNotContain("192.168.1.0/24", script[script.IndexOf("chain forward", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.DoesNotContain("wlan0", NftKillSwitchScript.Install(Full), StringComparison.Ordinal);
    }

    [Fact]
    public void Nft_accepts_the_script_with_lan_subnets()
    {
        Requirements.Ensure("nft");

        KillSwitchRules rules = Full.WithLan([new LanSubnet("wlan0", IpPrefix.Parse("10.0.0.0/8")), new LanSubnet("eth0", IpPrefix.Parse("fd12:3456::/48"))]);
        CommandResult r = Command.TryRun("nft", ["--check", "-f", "-"], standardInput: NftKillSwitchScript.Install(rules));

        Assert.True(r.ExitCode == 0, r.StandardError);
    }

    [Theory]
    [InlineData("wg0", "jvpn_ks_wg0")]
    [InlineData("home_vpn", "jvpn_ks_home_vpn")]
    [InlineData("a=b", "jvpn_ks_a.3db")]
    [InlineData("a+b", "jvpn_ks_a.2bb")]
    [InlineData("a.b", "jvpn_ks_a.2eb")]
    [InlineData("a-b", "jvpn_ks_a.2db")]
    public void Table_names_are_nft_identifiers_and_never_collide(string name, string table)
    {
        Assert.Equal(table, NftKillSwitchScript.TableName(name));
    }

    [Fact]
    public void Removal_declares_then_deletes_so_a_missing_table_is_no_error()
    {
        Assert.Equal("table inet jvpn_ks_wg0\ndelete table inet jvpn_ks_wg0\n", NftKillSwitchScript.Remove("wg0"));
    }

    [Fact]
    public void An_interface_name_that_could_change_the_script_is_refused()
    {
        Assert.Throws<ArgumentException>(() => NftKillSwitchScript.Install(Full with { TunnelInterface = "jv0\" accept" }));
    }

    [Fact]
    public void Refused_packets_are_the_sum_of_the_counters()
    {
        const string Listing = "meta l4proto tcp counter packets 3 bytes 180 reject with tcp reset\ncounter packets 12 bytes 900 reject\ncounter packets 0 bytes 0 reject";

        Assert.Equal(15, NftCounters.SumPackets(Listing));
    }

    [Fact]
    public void Nft_accepts_the_script()
    {
        Requirements.Ensure("nft");

        // --check parses and validates against the kernel without committing anything.
        CommandResult r = Command.TryRun("nft", ["--check", "-f", "-"], standardInput: NftKillSwitchScript.Install(Full));

        Assert.True(r.ExitCode == 0, r.StandardError);
    }
}
