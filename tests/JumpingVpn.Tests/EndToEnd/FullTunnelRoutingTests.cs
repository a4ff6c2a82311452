using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Issue 4 §2: a full tunnel (AllowedIPs 0.0.0.0/0) on the two-link client. The encrypted packets keep
/// leaving through the physical links (fwmark + policy routing, path sockets marked and bound to their
/// interface), and the rules go away on exit: on SIGTERM at once, and after a crash (SIGKILL) with the
/// next start, which must not stack duplicates.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class FullTunnelRoutingTests
{
    [Fact]
    public void Full_tunnel_rules_are_removed_on_sigterm_and_after_a_crash_restart()
    {
        Requirements.Ensure("jvpn", "ping", "nft");
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel first = topology.StartTunnel();
        first.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        string table = TunnelTable(topology) ?? throw new InvalidOperationException($"no fwmark rule after up\n{Rules(topology)}");
        Assert.Equal((1, 1), CountRules(topology, table));

        // Crash: the kernel removes the TUN device and its routes, the rules stay behind.
        using (var crashed = System.Diagnostics.Process.GetProcessById(first.Client.Process!.Id))
        {
            crashed.Kill();
            crashed.WaitForExit(TimeSpan.FromSeconds(10));
        }
        Assert.Equal((1, 1), CountRules(topology, table));

        // Restart with the same config: the stale rules are replaced, not stacked, and traffic flows
        // (through the links, not into the tunnel itself: no routing loop).
        using JvpnPeer restarted = JvpnPeer.Start(topology.Client, first.Client.Config);
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TunnelScenarios.HandshakeTimeout),
            $"no reply through the restarted full tunnel\n{Rules(topology)}\n{restarted.Describe()}");
        Assert.Equal(table, TunnelTable(topology));
        Assert.Equal((1, 1), CountRules(topology, table));

        // SIGTERM: a clean exit removes everything it added.
        restarted.Process!.Signal();
        Assert.True(restarted.Process.WaitForExit(TimeSpan.FromSeconds(15)), restarted.Describe());
        Assert.Equal((0, 0), CountRules(topology, table));
        Assert.Equal("", topology.Client.Ip("route", "show", "table", table).StandardOutput.Trim());
        TunnelScenarios.Log($"table {table}: one rule pair while up, none after SIGTERM; a SIGKILL's leftovers replaced on restart");
    }

    private static string Rules(TwoLinkTopology t) => t.Client.Ip("-4", "rule", "show").StandardOutput;

    /// <summary>The table of the `not from all fwmark 0xT lookup T` rule, if any.</summary>
    private static string? TunnelTable(TwoLinkTopology t)
    {
        Match m = NotFwmarkRule().Match(Rules(t));
        return m.Success ? m.Groups["table"].Value : null;
    }

    private static (int NotFwmark, int Suppress) CountRules(TwoLinkTopology t, string table)
    {
        string rules = Rules(t);
        int notFwmark = NotFwmarkRule().Matches(rules).Count(m => m.Groups["table"].Value == table);
        int suppress = Regex.Count(rules, "lookup main suppress_prefixlength 0");
        return (notFwmark, suppress);
    }

    // 32765:	not from all fwmark 0xca6c lookup 51820
    [GeneratedRegex(@"not from all fwmark 0x[0-9a-f]+ lookup (?<table>\d+)")]
    private static partial Regex NotFwmarkRule();
}
