using System.Diagnostics;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// The kill switch (docs/platform.md §4.8) on the two-link client of <see cref="TwoLinkTopology"/>, full tunnel,
/// real nftables and tcpdump on the client's links. With it on, a kill -9 of the client leaves a lockdown: for
/// 10 s of ping, TCP, DNS and stray UDP toward an underlay address (the router, not a server endpoint) nothing but
/// UDP to the server leaves either link, and DNS to that other resolver fails; `jvpn down` lifts it and the same
/// traffic flows. With it off, the same crash leaks the same traffic, so the test can fail. A path switch under
/// the kill switch keeps the tunnel working, and `jvpn killswitch` toggles it at run time.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class KillSwitchTests
{
    private static readonly string[] Tools = ["jvpn", "ping", "nft", "tcpdump"];
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void After_kill_9_only_server_udp_leaves_until_jvpn_down(bool killSwitch)
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using var probe = new LeakProbe(topology.Client, topology.Router, topology.RouterPublicV4);
        Assert.Equal(LeakProbe.Everything, probe.Try()); // the probes work before any tunnel exists
        using TwoLinkTunnel tunnel = topology.StartTunnel(new Dictionary<string, string> { ["KillSwitch"] = killSwitch ? "on" : "off" });
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        string name = tunnel.Client.InterfaceName;
        Assert.Equal(killSwitch, Tables(topology).Contains("jvpn_ks_" + name, StringComparison.Ordinal));

        tunnel.Client.Process!.KillHard();
        Assert.True(tunnel.Client.Process.WaitForExit(TimeSpan.FromSeconds(10)), tunnel.Client.Describe());

        // Everything but ARP, IPv6 link upkeep (ICMPv6, hop-by-hop MLD) and the WireGuard UDP to the server.
        string filter = $"not arp and not icmp6 and not (ip6 proto 0) and not (udp and dst host {topology.ServerUnderlayV4} and dst port {TwoHostTopology.ServerListenPort})";
        var through = new List<string>();
        using (PacketCapture wifi = PacketCapture.Start(topology.Client, TwoLinkTopology.Wifi, filter))
        using (PacketCapture cell = PacketCapture.Start(topology.Client, TwoLinkTopology.Cell, filter))
        {
            var clock = Stopwatch.StartNew();
            int rounds = 0;
            while (clock.Elapsed < Watch)
            {
                string got = probe.Try();
                rounds++;
                if (got.Length > 0)
                {
                    through.Add(got);
                }
                Thread.Sleep(250);
            }
            List<string> leaked = [.. Packets(wifi), .. Packets(cell)];
            string status = tunnel.Client.Run("killswitch", name, "status").StandardOutput;
            TunnelScenarios.Log($"kill switch {(killSwitch ? "on" : "off")}, {Watch.TotalSeconds:0} s after kill -9: {leaked.Count} packet(s) other than server UDP left the links, {through.Count} of {rounds} probe rounds answered ({string.Join(", ", through.Distinct())}); status: {status.Trim()}");
            if (killSwitch)
            {
                Assert.True(leaked.Count == 0, $"leaked under lockdown:\n{string.Join('\n', leaked.Take(20))}");
                Assert.Empty(through);
                // The issue's words: DNS to another resolver fails, over UDP and over TCP.
                Assert.Equal("", DnsResponder.Try(topology.Client, topology.RouterPublicV4));
                Assert.Contains("lockdown", status, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(leaked.Count > 0, "without the kill switch the crashed client's traffic should leave the links (else this test proves nothing)");
                Assert.Contains(through, t => t.Contains("dns dns-tcp tcp", StringComparison.Ordinal));
                Assert.Equal("udp tcp", DnsResponder.Try(topology.Client, topology.RouterPublicV4));
            }
        }

        if (killSwitch)
        {
            // Restarting under the lockdown replaces the table in one step and reconnects; then crash it again.
            using JvpnPeer restarted = JvpnPeer.Start(topology.Client, tunnel.Client.Config, interfaceName: name);
            Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TunnelScenarios.HandshakeTimeout),
                $"no reply through the tunnel restarted under the lockdown\n{restarted.Describe()}\n{Tables(topology)}");
            Assert.Equal("", probe.Try());
            restarted.Process!.KillHard();
            Assert.True(restarted.Process.WaitForExit(TimeSpan.FromSeconds(10)), restarted.Describe());
            Assert.Contains("jvpn_ks_" + name, Tables(topology), StringComparison.Ordinal);
        }

        // `jvpn down` of the crashed interface: lifts the lockdown; without a kill switch there is nothing to do.
        CommandResult down = tunnel.Client.Run("down", name);
        if (killSwitch)
        {
            Assert.True(down.ExitCode == 0, $"{down.CommandLine}: {down.StandardError}");
            Assert.Contains("removed the kill switch", down.StandardError, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"no interface {name} is running", down.StandardError, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("jvpn_ks_", Tables(topology), StringComparison.Ordinal);
        Assert.Equal(LeakProbe.Everything, probe.Try());
    }

    /// <summary>Over an IPv6 underlay the server hole is the `ip6 daddr . udp dport` rule, with the same mark.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_path_switch_keeps_the_tunnel_and_the_toggle_switches_at_run_time(bool ipv6Underlay)
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        // The gateway on the cellular link: reached through the main table's connected route (docs/platform.md
        // §4.3 keeps specific routes out of the tunnel), so only the kill switch stops traffic to it.
        using var probe = new LeakProbe(topology.Client, topology.Router, topology.RouterAddress(TwoLinkTopology.Cell));
        using TwoLinkTunnel tunnel = topology.StartTunnel(new Dictionary<string, string> { ["KillSwitch"] = "on" }, ipv6Underlay: ipv6Underlay);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        tunnel.WaitForActive(TwoLinkTopology.Wifi, TimeSpan.FromSeconds(10));
        string name = tunnel.Client.InterfaceName;
        Assert.Equal("", probe.Try());

        topology.LinkDown(TwoLinkTopology.Wifi);
        tunnel.WaitForActive(TwoLinkTopology.Cell, TimeSpan.FromSeconds(10), otherAlive: false);
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)),
            $"no reply through the tunnel on cellular under the kill switch\n{tunnel.Describe()}\n{Tables(topology)}");
        Assert.Equal("", probe.Try());
        Assert.Contains("jvpn_ks_" + name, Tables(topology), StringComparison.Ordinal);

        CommandResult off = tunnel.Client.Run("killswitch", name, "off");
        Assert.True(off.ExitCode == 0, off.StandardError);
        Assert.DoesNotContain("jvpn_ks_" + name, Tables(topology), StringComparison.Ordinal);
        // Without the switch the cellular link's own subnet is reachable again.
        Assert.Equal(LeakProbe.Everything, probe.Try());

        CommandResult on = tunnel.Client.Run("killswitch", name, "on");
        CommandResult status = tunnel.Client.Run("killswitch", name);
        Assert.True(on.ExitCode == 0, on.StandardError);
        Assert.Equal("", probe.Try());
        Assert.Contains("kill switch on", status.StandardOutput, StringComparison.Ordinal);
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)), tunnel.Describe());

        // A clean stop removes the table.
        CommandResult down = tunnel.Client.Run("down", name);
        Assert.True(down.ExitCode == 0, down.StandardError);
        Assert.DoesNotContain("jvpn_ks_", Tables(topology), StringComparison.Ordinal);
        TunnelScenarios.Log($"kill switch ({(ipv6Underlay ? "IPv6" : "IPv4")} underlay): tunnel kept across wifi0 -> cell0, toggled off/on at run time, removed by jvpn down");
    }

    /// <summary>
    /// "DNS only to the tunnel's DNS" (docs/platform.md §4.8): the client's config names the server's tunnel address
    /// as its resolver. With the switch on, DNS over UDP and TCP to it works (through the tunnel), while DNS to
    /// another resolver fails: the server's underlay address, reached through the tunnel like any other address of
    /// a full tunnel (so only the DNS rule refuses it), and the Wi-Fi gateway, outside the tunnel. Turned off at run time,
    /// the same queries to the other resolvers are answered, so the test can fail.
    /// </summary>
    [Fact]
    public void Dns_goes_only_to_the_tunnels_resolver()
    {
        Requirements.Ensure(Tools);
        // `DNS =` makes `jvpn up` hand the servers to resolvconf or systemd-resolved when the machine has one
        // (docs/platform.md §4.6); those act on the host's resolver, not the test namespace's, so the test only
        // runs where neither is present.
        Requirements.EnsureNoHostDnsManager();
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using var serverResolver = new DnsResponder(topology.Server);
        using var routerResolver = new DnsResponder(topology.Router);
        string tunnelDns = TwoHostTopology.ServerTunnelV4;
        string otherThroughTunnel = topology.ServerUnderlayV4;
        // The Wi-Fi gateway: its connected route keeps it outside the tunnel (docs/platform.md §4.3).
        string outside = topology.RouterAddress(TwoLinkTopology.Wifi);
        Assert.Equal("udp tcp", DnsResponder.Try(topology.Client, otherThroughTunnel)); // before any tunnel
        using TwoLinkTunnel tunnel = topology.StartTunnel(new Dictionary<string, string> { ["KillSwitch"] = "on" }, dns: [tunnelDns]);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        string name = tunnel.Client.InterfaceName;
        Assert.True(Ping.WaitForReply(topology.Client, tunnelDns, TimeSpan.FromSeconds(10)), tunnel.Describe());
        Assert.Contains("jvpn_ks_" + name, Tables(topology), StringComparison.Ordinal);

        string toTunnelDns = DnsResponder.Try(topology.Client, tunnelDns);
        string toOtherThroughTunnel = DnsResponder.Try(topology.Client, otherThroughTunnel);
        string toOutside = DnsResponder.Try(topology.Client, outside);
        TunnelScenarios.Log($"kill switch on, DNS = {tunnelDns}: answered by the tunnel's resolver over [{toTunnelDns}], by {otherThroughTunnel} (through the tunnel) over [{toOtherThroughTunnel}], by {outside} (outside) over [{toOutside}]");
        Assert.True(toTunnelDns == "udp tcp", $"DNS to the tunnel's resolver answered over [{toTunnelDns}]\n{tunnel.Describe()}\n{NftRuleset(topology)}");
        Assert.True(toOtherThroughTunnel.Length == 0, $"DNS to {otherThroughTunnel} through the tunnel answered over [{toOtherThroughTunnel}]\n{NftRuleset(topology)}");
        Assert.True(toOutside.Length == 0, $"DNS to {outside} outside the tunnel answered over [{toOutside}]\n{NftRuleset(topology)}");

        CommandResult off = tunnel.Client.Run("killswitch", name, "off");
        Assert.True(off.ExitCode == 0, off.StandardError);
        Assert.Equal("udp tcp", DnsResponder.Try(topology.Client, otherThroughTunnel));
        Assert.Equal("udp tcp", DnsResponder.Try(topology.Client, tunnelDns));
        Assert.Equal("udp tcp", DnsResponder.Try(topology.Client, outside));
        CommandResult down = tunnel.Client.Run("down", name);
        Assert.True(down.ExitCode == 0, down.StandardError);
    }

    /// <summary>
    /// "Allow LAN" (docs/platform.md §4.8): with `KillSwitchAllowLan = on` the gateways on the client's Wi-Fi and cellular
    /// subnets answer ping and TCP (DNS to them stays refused) while the tunnel runs and in the lockdown after kill -9,
    /// while the router's other address (10.201.x.1: private, but reached through a gateway, so no LAN) gets nothing
    /// in the lockdown. With it off the LAN is blocked like the rest, so the test can fail; there `jvpn killswitch NAME
    /// on --allow-lan` opens it at run time and `--block-lan` closes it again.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Allow_lan_lets_the_path_subnets_through_and_nothing_else(bool allowLan)
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        string wifiLan = topology.RouterAddress(TwoLinkTopology.Wifi);
        string cellLan = topology.RouterAddress(TwoLinkTopology.Cell);
        string notLan = topology.RouterPublicV4;
        using var probe = new LeakProbe(topology.Client, topology.Router, wifiLan);
        Assert.Equal(LeakProbe.Everything, probe.Try());
        Assert.Equal(LeakProbe.Everything, probe.Try(notLan));
        using TwoLinkTunnel tunnel = topology.StartTunnel(new Dictionary<string, string> { ["KillSwitch"] = "on", ["KillSwitchAllowLan"] = allowLan ? "on" : "off" });
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        string name = tunnel.Client.InterfaceName;
        const string LanOnly = "tcp ping"; // DNS to a LAN resolver stays refused
        string expected = allowLan ? LanOnly : "";

        string runningWifi = probe.Try();
        string runningCell = probe.Try(cellLan);
        string status = tunnel.Client.Run("killswitch", name).StandardOutput.Trim();
        TunnelScenarios.Log($"kill switch on, allow LAN {(allowLan ? "on" : "off")}: {wifiLan} answered [{runningWifi}], {cellLan} answered [{runningCell}]; status: {status}");
        Assert.True(runningWifi == expected, $"{wifiLan} answered [{runningWifi}]\n{NftRuleset(topology)}");
        Assert.True(runningCell == expected, $"{cellLan} answered [{runningCell}]\n{NftRuleset(topology)}");
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)), tunnel.Describe());
        if (allowLan)
        {
            Assert.Contains("LAN allowed", status, StringComparison.Ordinal);
            Assert.Contains(topology.RouterAddress(TwoLinkTopology.Wifi)[..^1] + "0/24 on " + TwoLinkTopology.Wifi, status, StringComparison.Ordinal);
        }
        else
        {
            CommandResult open = tunnel.Client.Run("killswitch", name, "on", "--allow-lan");
            Assert.True(open.ExitCode == 0, open.StandardError);
            Assert.Contains("LAN allowed", open.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(LanOnly, probe.Try());
            CommandResult close = tunnel.Client.Run("killswitch", name, "on", "--block-lan");
            Assert.True(close.ExitCode == 0, close.StandardError);
            Assert.Equal("", probe.Try());
            CommandResult usage = tunnel.Client.Run("killswitch", name, "off", "--allow-lan");
            Assert.Equal(2, usage.ExitCode);
            Assert.Contains("go with 'on'", usage.StandardError, StringComparison.Ordinal);
        }

        tunnel.Client.Process!.KillHard();
        Assert.True(tunnel.Client.Process.WaitForExit(TimeSpan.FromSeconds(10)), tunnel.Client.Describe());
        string lockdownLan = probe.Try();
        string lockdownNotLan = probe.Try(notLan);
        TunnelScenarios.Log($"lockdown after kill -9, allow LAN {(allowLan ? "on" : "off")}: {wifiLan} answered [{lockdownLan}], {notLan} (not LAN) answered [{lockdownNotLan}]");
        Assert.True(lockdownLan == expected, $"{wifiLan} answered [{lockdownLan}] in the lockdown\n{NftRuleset(topology)}");
        Assert.True(lockdownNotLan.Length == 0, $"{notLan} answered [{lockdownNotLan}] in the lockdown\n{NftRuleset(topology)}");

        CommandResult down = tunnel.Client.Run("down", name);
        Assert.True(down.ExitCode == 0, down.StandardError);
        Assert.Equal(LeakProbe.Everything, probe.Try(notLan));
    }

    private static string NftRuleset(TwoLinkTopology t) => t.Client.Exec("nft", "list", "ruleset").StandardOutput;

    private static string Tables(TwoLinkTopology t) => t.Client.Exec("nft", "list", "tables").StandardOutput;

    /// <summary>The captured packets, one tcpdump line each.</summary>
    private static List<string> Packets(PacketCapture capture)
    {
        capture.StopAndReadUdp();
        CommandResult r = Command.TryRun("tcpdump", ["-n", "-r", capture.FilePath]);
        return [.. r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
