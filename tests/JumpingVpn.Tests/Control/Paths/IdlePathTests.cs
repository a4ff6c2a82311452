using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Paths;

/// <summary>
/// An idle client on a manual clock (docs/paths.md "Idle"): the heartbeat backs off, the active path is
/// never suspect while nothing waits for an answer, candidates are probed at the idle interval, and the
/// fast liveness rules come back the moment traffic is outstanding.
/// </summary>
public sealed class IdlePathTests
{
    [Fact]
    public void Heartbeat_stays_fast_for_idle_after_then_doubles_up_to_the_idle_interval()
    {
        SessionPolicy p = SessionPolicy.Default;
        var sent = new List<long>();
        long last = 0;
        const long lastData = 0;
        for (long now = 0; now <= 60_000; now += 50)
        {
            if (now >= IdleSchedule.NextDueMs(p, last, lastData))
            {
                sent.Add(now);
                last = now;
            }
        }
        var gaps = new List<long>();
        for (int i = 1; i < sent.Count; i++)
        {
            gaps.Add(sent[i] - sent[i - 1]);
        }
        // 500 ms until idle_after (2 s), then 500, 1 s, 2 s, 4 s, 8 s, and 12 s from then on.
        Assert.Equal([500, 500, 500, 500, 500, 1_000, 2_000, 4_000, 8_000, 12_000, 12_000, 12_000], gaps);
        Assert.All(gaps.Skip(9), g => Assert.Equal(SessionPolicy.DefaultIdleKeepaliveMs, g));
    }

    [Fact]
    public void Battery_profile_backs_off_to_25_seconds_and_data_brings_the_fast_heartbeat_back_at_once()
    {
        SessionPolicy battery = SessionPolicy.Default with { IdleKeepaliveIntervalMs = SessionPolicy.BatteryIdleKeepaliveMs };
        Assert.Equal(25_000, IdleSchedule.GapAfter(battery, sentMs: 600_000, lastDataMs: 0));
        Assert.Equal(12_000, IdleSchedule.GapAfter(SessionPolicy.Default, sentMs: 600_000, lastDataMs: 0));
        // A keepalive went out at 600 s with the next one 25 s away; data at 601 s: due 500 ms after the keepalive.
        Assert.Equal(600_500, IdleSchedule.NextDueMs(battery, lastSentMs: 600_000, lastDataMs: 601_000));
        Assert.False(IdleSchedule.IsIdle(battery, lastDataMs: 601_000, nowMs: 602_999));
        Assert.True(IdleSchedule.IsIdle(battery, lastDataMs: 601_000, nowMs: 603_000));
    }

    [Fact]
    public void Idle_client_is_never_suspect_and_probes_only_candidates_at_the_idle_interval()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.Keepalives = true;
        int logBefore = sim.Log.Count;
        sim.Run(30_000, traffic: false); // back-off reaches the idle interval within ~18 s
        long windowStart = sim.NowMs;
        sim.Run(60_000, traffic: false);

        List<PathDecision> idleLog = sim.Log.Skip(logBefore).ToList();
        Assert.DoesNotContain(idleLog, d => d.Decision is "active_suspect" or "path_dead" or "switch");
        Assert.Equal("wifi", sim.ActiveName);
        int wifiProbes = sim.Sent.Count(s => s.AtMs >= windowStart && s.Interface == "wifi" && s.Kind == "probe");
        int cellProbes = sim.Sent.Count(s => s.AtMs >= windowStart && s.Interface == "cell" && s.Kind == "probe");
        int keepalives = sim.Sent.Count(s => s.AtMs >= windowStart && s.Kind == "keepalive");
        // 60 s at one per 12 s: 5, plus one at the window's edge.
        Assert.True(wifiProbes == 0, $"the active path was probed {wifiProbes} times while idle\n{sim.Trace()}");
        Assert.InRange(cellProbes, 4, 6);
        Assert.InRange(keepalives, 4, 6);
        Assert.Equal(0, sim.Manager.SuspectEpisodes);
    }

    [Fact]
    public void A_path_that_appears_while_idle_is_measured_at_once_then_backs_off()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.Keepalives = true;
        sim.Run(60_000, traffic: false);
        long addedAt = sim.NowMs;
        sim.AddLink("usb", 2, rttMs: 20);
        sim.Run(60_000, traffic: false);
        List<long> probes = sim.Sent.Where(s => s.Interface == "usb" && s.Kind == "probe").Select(s => s.AtMs - addedAt).ToList();
        Assert.True(probes.Count(t => t < 2_500) >= 4, $"usb probes at {string.Join(", ", probes)} ms");
        Assert.Equal(PathState.Alive, sim.Manager.Paths.Single(p => p.Info.Interface == "usb").State);
        List<long> late = probes.Where(t => t >= 30_000).ToList();
        for (int i = 1; i < late.Count; i++)
        {
            Assert.Equal(SessionPolicy.DefaultIdleKeepaliveMs, late[i] - late[i - 1]);
        }
    }

    [Fact]
    public void Traffic_after_a_long_idle_on_a_healthy_path_is_not_mistaken_for_silence()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.Keepalives = true;
        sim.Run(60_000, traffic: false); // the last reply on wifi is up to 12 s old
        int logBefore = sim.Log.Count;
        sim.ResetGap();
        sim.Run(3_000);
        List<PathDecision> busyLog = sim.Log.Skip(logBefore).ToList();
        Assert.DoesNotContain(busyLog, d => d.Decision is "path_dead" or "switch");
        Assert.Equal("wifi", sim.ActiveName);
        Assert.True(sim.LongestGapMs < 100, $"gap {sim.LongestGapMs} ms\n{sim.Trace()}");
    }

    [Fact]
    public void Traffic_on_a_path_that_died_while_idle_fails_over_within_path_dead()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.Keepalives = true;
        sim.Run(60_000, traffic: false);
        int logBefore = sim.Log.Count;
        sim.SetAlive("wifi", false); // silently: no interface event, the last keepalive answered
        sim.ResetGap();
        sim.Run(4_000);
        List<PathDecision> busyLog = sim.Log.Skip(logBefore).ToList();
        Assert.True(sim.ActiveName == "cell" && sim.SwitchesBy(ReasonCode.TransportDeadRecovery) == 1, sim.Trace());
        PathDecision suspect = Assert.Single(busyLog, d => d.Decision == "active_suspect");
        Assert.Contains(busyLog, d => d.Decision == "active_suspect_end");
        // Fast probing resumed on both paths as soon as traffic went unanswered.
        long probesAfterSuspect = sim.Sent.Count(s => s.AtMs >= suspect.AtMs && s.AtMs < suspect.AtMs + 600 && s.Kind == "probe");
        Assert.True(probesAfterSuspect >= 4, $"{probesAfterSuspect} probes in the 600 ms after suspicion\n{sim.Trace()}");
        // path_dead (1 s) + one RTT on cellular + the sweep: the same budget as with traffic all along.
        Assert.True(sim.LongestGapMs <= SessionPolicy.Default.PathDeadMs + 300, $"gap {sim.LongestGapMs} ms\n{sim.Trace()}");
    }

    [Fact]
    public void A_lost_keepalive_while_idle_declares_the_path_dead_only_after_transport_dead()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.Keepalives = true;
        sim.Run(60_000, traffic: false);
        sim.SetAlive("wifi", false);
        long blackholedAt = sim.NowMs;
        int logBefore = sim.Log.Count;
        sim.Run(30_000, traffic: false);
        List<PathDecision> log = sim.Log.Skip(logBefore).ToList();
        Assert.DoesNotContain(log, d => d.Decision == "active_suspect");
        PathDecision dead = log.First(d => d.Decision == "path_dead" && d.Interface == "wifi");
        long firstLostKeepalive = sim.Sent.First(s => s.AtMs >= blackholedAt && s.Kind == "keepalive" && s.Interface == "wifi").AtMs;
        Assert.InRange(dead.AtMs - firstLostKeepalive, SessionPolicy.Default.TransportDeadMs, SessionPolicy.Default.TransportDeadMs + 100);
        Assert.Equal("cell", sim.ActiveName);
    }
}
