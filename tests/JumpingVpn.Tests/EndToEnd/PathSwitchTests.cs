using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Issue 4 on the two-link topology of docs/design.md §8 (<see cref="TwoLinkTopology"/>): a full-tunnel jvpn
/// client with Wi-Fi (preferred) and cellular, a jvpn server behind a router. Each scenario runs a 50 ms
/// ping and a paced TCP transfer inside the tunnel while a link fails, prints the measured gap, and checks
/// the session id stays the same with contiguous versions in the server's audit stream.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class PathSwitchTests
{
    private const string Bitrate = "20M";

    private static readonly string[] Tools = ["jvpn", "ping", "iperf3", "nft"];

    private sealed record Run(
        TwoLinkTunnel Tunnel,
        SessionView Before,
        SessionView After,
        GapReport Gap,
        TimeSpan? EventGap,
        Iperf3TransferResult Transfer,
        List<SwitchView> Switches,
        ServerAudit Audit);

    [Fact]
    public void Hard_switch_link_down_moves_to_cellular() => HardSwitch(ipv6Underlay: false);

    [Fact]
    public void Hard_switch_over_an_ipv6_underlay_moves_to_cellular() => HardSwitch(ipv6Underlay: true);

    /// <summary>Wi-Fi goes down and loses its addresses under traffic; the session moves to cellular. Over an
    /// IPv6 underlay the server sees the client at the router's IPv6 address before and after, from a new port.</summary>
    private static void HardSwitch(bool ipv6Underlay)
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = Start(topology, ipv6Underlay: ipv6Underlay);
        string publicPrefix = ipv6Underlay ? $"[{topology.RouterPublicV6}]:" : $"{topology.RouterPublicV4}:";
        Assert.StartsWith(publicPrefix, SessionStatus.Read(tunnel.Server)!.Bound, StringComparison.Ordinal);
        Run run = Scenario(tunnel, ipv6Underlay ? "hard switch over IPv6" : "hard switch", TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(3),
            () => topology.LinkDown(TwoLinkTopology.Wifi));
        AssertSurvived(run);
        Assert.Equal(TwoLinkTopology.Cell, tunnel.ActivePath());
        SwitchView s = Assert.Single(run.Switches);
        Assert.Equal((TwoLinkTopology.Wifi, TwoLinkTopology.Cell, "TRANSPORT_DEAD_RECOVERY"), (s.From, s.To, s.Reason));
        Assert.StartsWith(publicPrefix, run.After.Bound, StringComparison.Ordinal);
        Assert.NotEqual(run.Before.Bound, run.After.Bound); // the cellular path's own mapping
        Assert.True(run.EventGap is { TotalMilliseconds: < 1000 }, $"gap across the link loss: {run.EventGap}\n{tunnel.Describe()}");
    }

    [Fact]
    public void Silent_blackhole_fails_over_within_one_and_a_half_seconds()
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = Start(topology);
        Run run = Scenario(tunnel, "silent blackhole", TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(3),
            () => topology.Blackhole(TwoLinkTopology.Wifi, true));
        AssertSurvived(run);
        Assert.Equal(TwoLinkTopology.Cell, tunnel.ActivePath());
        Assert.Contains(run.Switches, s => s.To == TwoLinkTopology.Cell && s.Reason == "TRANSPORT_DEAD_RECOVERY");
        Assert.True(run.EventGap is { TotalMilliseconds: <= 1500 }, $"gap across the blackhole: {run.EventGap}\n{tunnel.Describe()}");
    }

    /// <summary>
    /// Wi-Fi dies silently while the client is idle (its heartbeat backed off to the idle interval, the
    /// candidate probed only every 12 s); then traffic starts. The switch must still come within the
    /// path_dead budget counted from the first packet of the new traffic, as if traffic had flowed all along.
    /// </summary>
    [Fact]
    public void Traffic_on_a_path_that_died_while_idle_fails_over_within_path_dead()
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = Start(topology);
        SessionView before = SessionStatus.WaitForAttached(tunnel.Server, TimeSpan.FromSeconds(5));
        Thread.Sleep(TimeSpan.FromSeconds(22)); // idle: the heartbeat is at its 12 s interval by now
        topology.Blackhole(TwoLinkTopology.Wifi, true);
        DateTimeOffset trafficAt = DateTimeOffset.UtcNow;
        GapReport gap = GapMeter.Start(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)).Wait();
        double start = trafficAt.ToUnixTimeMilliseconds() / 1000.0;
        double? first = gap.ReplyTimes.Where(t => t >= start).Select(t => (double?)t).FirstOrDefault();
        TimeSpan? outage = first is double f ? TimeSpan.FromSeconds(f - start) : null;
        PingResult afterwards = Ping.Measure(topology.Client, TwoHostTopology.ServerTunnelV4, count: 20, intervalMs: 50);
        SessionView after = SessionStatus.Read(tunnel.Server)!;
        ServerAudit audit = ServerAudit.Read(tunnel.Server);
        List<SwitchView> switches = tunnel.ClientPaths().Switches;
        string context = $"\n{gap}\n{tunnel.Describe()}\n{string.Join("\n", audit.Lines)}";
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"path dead while idle, then traffic: first reply {outage?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "(none)"} ms after the traffic started; switches {string.Join("; ", switches)}; afterwards {afterwards}"));

        Assert.True(outage is { TotalMilliseconds: <= 1500 }, $"first reply {outage} after traffic started on a path that died while idle (path_dead 1 s + 0.5 s){context}");
        Assert.Equal(TwoLinkTopology.Cell, tunnel.ActivePath());
        Assert.Contains(switches, s => s.To == TwoLinkTopology.Cell && s.Reason == "TRANSPORT_DEAD_RECOVERY");
        Assert.True(afterwards.Received >= 19, $"after the switch: {afterwards}{context}");
        Assert.Equal(before.Id, after.Id);
        Assert.Equal("ATTACHED", after.State);
        audit.AssertContiguous(before.Id!);
    }

    [Fact]
    public void Loss_spike_moves_to_the_better_path_and_returns_within_the_cap()
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = Start(topology);
        Run run = Scenario(tunnel, "loss spike 30% for 5 s", TimeSpan.FromSeconds(24), TimeSpan.FromSeconds(3), () =>
        {
            topology.SetLoss(TwoLinkTopology.Wifi, 30);
            Thread.Sleep(TimeSpan.FromSeconds(5));
            topology.SetLoss(TwoLinkTopology.Wifi, 0);
        });
        AssertSurvived(run);
        // The only better path during the spike is the clean cellular one; after the spike Wi-Fi is
        // preferred again and stable, so the session is back on it, well within the switch cap.
        Assert.All(run.Switches, s => Assert.True(
            (s.To == TwoLinkTopology.Cell && s.Reason == "LOSS_RECOVERY") || (s.To == TwoLinkTopology.Wifi && s.Reason == "PREFERRED_PATH_CHANGED"),
            $"unexpected switch {s}"));
        Assert.True(run.Switches.Count <= 8, $"{run.Switches.Count} switches");
        Assert.True(tunnel.ActivePath() == TwoLinkTopology.Wifi, $"not back on Wi-Fi\n{tunnel.Describe()}");
    }

    [Fact]
    public void Flapping_link_stays_within_the_switch_cap_and_never_terminates()
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = Start(topology);
        Run run = Scenario(tunnel, "flapping 1 s dead / 1 s alive for 30 s", TimeSpan.FromSeconds(34), TimeSpan.FromSeconds(2), () =>
        {
            for (int i = 0; i < 30; i++)
            {
                topology.Blackhole(TwoLinkTopology.Wifi, i % 2 == 0);
                Thread.Sleep(TimeSpan.FromSeconds(1));
            }
            topology.Blackhole(TwoLinkTopology.Wifi, false);
        }, requireAllReplies: false);
        AssertSurvived(run, expectState: null);
        Assert.True(run.After.State is "ATTACHED" or "DEGRADED", $"state after flapping: {run.After}");
        Assert.True(run.Switches.Count <= 8, $"{run.Switches.Count} successful switches in the run (cap 8 per 60 s)");
        Assert.DoesNotContain(run.Audit.Lines, l => l.Contains("\"TERMINATED\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Preferred_path_returns_once_after_the_stability_window()
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = Start(topology);
        DateTimeOffset wifiBack = default;
        Run run = Scenario(tunnel, "Wi-Fi lost, then back", TimeSpan.FromSeconds(14), TimeSpan.FromSeconds(2), () =>
        {
            topology.LinkDown(TwoLinkTopology.Wifi);
            Thread.Sleep(TimeSpan.FromSeconds(3));
            topology.LinkUp(TwoLinkTopology.Wifi);
            wifiBack = DateTimeOffset.UtcNow;
        });
        AssertSurvived(run);
        Assert.Equal(2, run.Switches.Count);
        Assert.Equal((TwoLinkTopology.Wifi, TwoLinkTopology.Cell), (run.Switches[0].From, run.Switches[0].To));
        Assert.Equal((TwoLinkTopology.Cell, TwoLinkTopology.Wifi, "PREFERRED_PATH_CHANGED"), (run.Switches[1].From, run.Switches[1].To, run.Switches[1].Reason));
        Assert.Equal(TwoLinkTopology.Wifi, tunnel.ActivePath());
        DateTimeOffset? returned = run.Audit.TimeOf("TRANSPORT_SWITCH", "PREFERRED_PATH_CHANGED");
        Assert.True(returned is not null && returned.Value - wifiBack >= TimeSpan.FromSeconds(2),
            $"returned {returned - wifiBack} after Wi-Fi came back (stability window 2 s)");
    }

    [Fact]
    public void No_path_beyond_the_ttl_terminates_and_a_returning_link_opens_a_new_session()
    {
        Requirements.Ensure(Tools);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        // An idle binding is only declared dead transport_dead plus the client's announced idle interval
        // after its last packet (docs/paths.md "Idle"): a 2 s interval keeps this scenario's clock short.
        var ttl = new Dictionary<string, string> { ["TransportLostTtl"] = "6s", ["RecoveryWindow"] = "3s", ["IdleKeepaliveInterval"] = "2s" };
        using TwoLinkTunnel tunnel = Start(topology, ttl);
        SessionView before = SessionStatus.WaitForAttached(tunnel.Server, TimeSpan.FromSeconds(5));

        topology.LinkDown(TwoLinkTopology.Wifi);
        topology.LinkDown(TwoLinkTopology.Cell);
        DateTimeOffset down = DateTimeOffset.UtcNow;
        SessionView? ended = WaitFor(() => SessionStatus.Read(tunnel.Server), s => s is { State: "TERMINATED" }, TimeSpan.FromSeconds(15));
        TimeSpan terminatedAfter = DateTimeOffset.UtcNow - down;
        var (pathsWhileDown, _) = tunnel.ClientPaths();
        SessionView? clientView = SessionStatus.Read(tunnel.Client);
        TunnelScenarios.Log($"no path: server session {ended} after {terminatedAfter.TotalSeconds:0.0} s; client {clientView}; client paths {pathsWhileDown.Count}");
        Assert.True(ended is { State: "TERMINATED" } && ended.Id == before.Id, $"server session after the TTL: {ended}\n{tunnel.Describe()}");
        Assert.Null(ended!.Bound); // the binding is gone with the session
        Assert.Empty(pathsWhileDown); // no interface, no path socket
        ServerAudit audit = ServerAudit.Read(tunnel.Server);
        Assert.Contains(audit.Lines, l => l.Contains("\"TRANSPORT_LOSS_TTL_EXPIRED\"", StringComparison.Ordinal));

        SessionView? clientEnded = WaitFor(() => SessionStatus.Read(tunnel.Client), s => s is { State: "TERMINATED" }, TimeSpan.FromSeconds(5));
        Assert.True(clientEnded is { State: "TERMINATED" }, $"client: {clientEnded}");

        topology.LinkUp(TwoLinkTopology.Wifi);
        DateTimeOffset up = DateTimeOffset.UtcNow;
        SessionView? fresh = WaitFor(() => SessionStatus.Read(tunnel.Server), s => s is { State: "ATTACHED" } && s.Id != before.Id, TimeSpan.FromSeconds(15));
        TunnelScenarios.Log($"link back: new session {fresh} after {(DateTimeOffset.UtcNow - up).TotalSeconds:0.0} s");
        Assert.True(fresh is not null && fresh.Id != before.Id, $"no new session after the link returned\n{tunnel.Describe()}");
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)), tunnel.Describe());
        CommandResult events = tunnel.Client.Run("events", tunnel.Client.InterfaceName);
        Assert.Contains("SESSION_REPLACED", events.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("TRANSPORT_LOSS_TTL_EXPIRED", events.StandardOutput, StringComparison.Ordinal);
        // And TCP works in the new session.
        using Iperf3Transfer transfer = Iperf3Transfer.Start(topology.Server, TwoHostTopology.ServerTunnelV4, topology.Client, 2, bitrate: Bitrate);
        Iperf3TransferResult result = transfer.Wait();
        Assert.True(result.Completed, result.ToString());
    }

    private static TwoLinkTunnel Start(TwoLinkTopology topology, IReadOnlyDictionary<string, string>? policy = null, bool ipv6Underlay = false)
    {
        TwoLinkTunnel tunnel = topology.StartTunnel(policy, policy, ipv6Underlay);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        tunnel.WaitForActive(TwoLinkTopology.Wifi, TimeSpan.FromSeconds(10));
        return tunnel;
    }

    private static Run Scenario(TwoLinkTunnel tunnel, string name, TimeSpan duration, TimeSpan eventAfter, Action disturb, bool requireAllReplies = true)
    {
        TwoLinkTopology t = tunnel.Topology;
        SessionView before = SessionStatus.WaitForAttached(tunnel.Server, TimeSpan.FromSeconds(5));
        int seconds = (int)Math.Ceiling(duration.TotalSeconds) + 2;
        using Iperf3Transfer transfer = Iperf3Transfer.Start(t.Server, TwoHostTopology.ServerTunnelV4, t.Client, seconds, bitrate: Bitrate);
        GapMeter meter = GapMeter.Start(t.Client, TwoHostTopology.ServerTunnelV4, duration);
        Thread.Sleep(eventAfter);
        DateTimeOffset at = DateTimeOffset.UtcNow;
        disturb();
        GapReport gap = meter.Wait();
        Iperf3TransferResult result = transfer.Wait();
        SessionView after = SessionStatus.Read(tunnel.Server)!;
        List<SwitchView> switches = tunnel.ClientPaths().Switches;
        ServerAudit audit = ServerAudit.Read(tunnel.Server);
        TimeSpan? eventGap = GapAfter(gap, at, TimeSpan.FromSeconds(2));
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"{name}: gap across the event {eventGap?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "(no reply on one side)"} ms, longest gap {gap.LongestGap.TotalMilliseconds:0} ms; 50 ms ping {gap}"));
        TunnelScenarios.Log($"{name}: TCP {result}");
        TunnelScenarios.Log($"{name}: switches {string.Join("; ", switches)}; session {before} -> {after}");
        TunnelScenarios.Log($"{name}: client status\n{tunnel.Client.Run("status", tunnel.Client.InterfaceName).StandardOutput}");
        string trace = string.Join("\n", tunnel.Client.Run("events", tunnel.Client.InterfaceName).StandardOutput
            .Split('\n').Where(l => l.Contains("REATTACH", StringComparison.Ordinal) || l.Contains("\"switch", StringComparison.Ordinal)
                || l.Contains("path_dead", StringComparison.Ordinal) || l.Contains("path_removed", StringComparison.Ordinal)));
        TunnelScenarios.Log($"{name}: client event trace\n{trace}");
        if (requireAllReplies)
        {
            Assert.True(gap.Ping.Received > 0, $"no ping replies\n{gap.Ping.Output}\n{tunnel.Describe()}");
        }
        return new Run(tunnel, before, after, gap, eventGap, result, switches, audit);
    }

    /// <summary>
    /// The event's own service gap: the longest silence between two replies that ends after the event
    /// and begins within <paramref name="window"/> of it (the disturbance takes effect a few ms after
    /// the call that starts it, so the interval around the call itself may still be a short one).
    /// </summary>
    private static TimeSpan? GapAfter(GapReport gap, DateTimeOffset at, TimeSpan window)
    {
        double start = at.ToUnixTimeMilliseconds() / 1000.0;
        double longest = -1;
        IReadOnlyList<double> t = gap.ReplyTimes;
        for (int i = 1; i < t.Count; i++)
        {
            if (t[i] > start && t[i - 1] < start + window.TotalSeconds)
            {
                longest = Math.Max(longest, t[i] - t[i - 1]);
            }
        }
        return longest < 0 ? null : TimeSpan.FromSeconds(longest);
    }

    private static void AssertSurvived(Run run, string? expectState = "ATTACHED")
    {
        string context = $"\n{run.Tunnel.Describe()}\n{string.Join("\n", run.Audit.Lines)}";
        Assert.True(run.Transfer.Completed && run.Transfer.BytesReceived > 0, $"TCP did not survive: {run.Transfer}\n{run.Transfer.ClientStandardError}{context}");
        Assert.Equal(run.Before.Id, run.After.Id);
        if (expectState is not null)
        {
            Assert.Equal(expectState, run.After.State);
        }
        run.Audit.AssertContiguous(run.Before.Id!);
    }

    private static T? WaitFor<T>(Func<T?> read, Func<T?, bool> done, TimeSpan timeout)
    {
        DateTimeOffset deadline = DateTimeOffset.UtcNow + timeout;
        T? value = read();
        while (!done(value) && DateTimeOffset.UtcNow < deadline)
        {
            Thread.Sleep(200);
            value = read();
        }
        return value;
    }
}

/// <summary>The server's audit stream (`jvpn events`), one JSON line per event.</summary>
internal sealed class ServerAudit
{
    private ServerAudit(List<string> lines)
    {
        Lines = lines;
    }

    public List<string> Lines { get; }

    public static ServerAudit Read(JvpnPeer server)
    {
        CommandResult events = server.Run("events", server.InterfaceName);
        Assert.True(events.ExitCode == 0, $"{events.CommandLine}: {events.StandardError}");
        return new ServerAudit([.. events.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)]);
    }

    /// <summary>One STATE_CHANGE per version, starting at SESSION_CREATED's 0 (docs/session-spec.md §1.7).</summary>
    public void AssertContiguous(string sessionId)
    {
        var versions = new List<ulong>();
        foreach (string line in Lines)
        {
            using JsonDocument e = JsonDocument.Parse(line);
            JsonElement root = e.RootElement;
            string type = root.GetProperty("event_type").GetString()!;
            if (root.GetProperty("session_id").GetString() == sessionId && type is "SESSION_CREATED" or "STATE_CHANGE")
            {
                versions.Add(root.GetProperty("state_version").GetUInt64());
            }
        }
        for (int i = 0; i < versions.Count; i++)
        {
            Assert.True(versions[i] == (ulong)i, $"versions not contiguous: {string.Join(",", versions)}\n{string.Join("\n", Lines)}");
        }
    }

    /// <summary>When the first event of <paramref name="type"/> whose switch_reason is <paramref name="reason"/> happened.</summary>
    public DateTimeOffset? TimeOf(string type, string reason)
    {
        foreach (string line in Lines)
        {
            using JsonDocument e = JsonDocument.Parse(line);
            JsonElement root = e.RootElement;
            if (root.GetProperty("event_type").GetString() == type
                && root.TryGetProperty("switch_reason", out JsonElement r) && r.GetString() == reason)
            {
                return DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("ts_ms").GetInt64());
            }
        }
        return null;
    }
}
