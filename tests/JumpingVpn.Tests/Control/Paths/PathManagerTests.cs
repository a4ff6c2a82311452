using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Paths;

/// <summary>
/// The path manager's decisions (docs/design.md §4, docs/session-spec.md §2.8) against a simulated Wi-Fi + cellular
/// network with a manual clock: the scenarios of the two-link e2e tests, deterministic and fast.
/// </summary>
public sealed class PathManagerTests
{
    [Fact]
    public void Before_a_session_the_preferred_path_is_used_at_once()
    {
        var sim = new PathNetworkSimulation();
        sim.AddLink("cell", 1);
        sim.AddLink("wifi", 0);
        sim.Run(60, traffic: false);
        Assert.Equal("wifi", sim.ActiveName);
        Assert.Contains(sim.Actions, a => a.Kind == PathActionKind.Use);
        Assert.DoesNotContain(sim.Actions, a => a.Kind == PathActionKind.Reattach);
    }

    [Fact]
    public void Both_paths_are_probed_and_measured()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        PathEntry wifi = sim.Manager.Paths.Single(p => p.Info.Interface == "wifi");
        PathEntry cell = sim.Manager.Paths.Single(p => p.Info.Interface == "cell");
        Assert.Equal(PathState.Alive, wifi.State);
        Assert.Equal(PathState.Alive, cell.State);
        Assert.InRange(wifi.SrttMs, 5, 20);
        Assert.InRange(cell.SrttMs, 30, 60);
        Assert.Equal("wifi", sim.ActiveName);
    }

    [Fact]
    public void Hard_switch_fails_over_within_one_round_trip_of_the_interface_event()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetAlive("wifi", false);
        sim.RemoveLink("wifi");
        sim.Run(2_000);
        Assert.Equal("cell", sim.ActiveName);
        PathSwitchRecord s = Assert.Single(sim.Switches);
        Assert.Equal(ReasonCode.TransportDeadRecovery, s.Reason);
        Assert.Equal("wifi", s.From);
        Assert.True(sim.LongestGapMs < 200, $"gap {sim.LongestGapMs} ms");
    }

    [Fact]
    public void Silent_blackhole_with_traffic_outstanding_fails_over_after_path_dead()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetAlive("wifi", false); // link stays up, nothing comes back
        sim.Run(4_000);
        Assert.True(sim.ActiveName == "cell" && sim.SwitchesBy(ReasonCode.TransportDeadRecovery) == 1, sim.Trace());
        Assert.Contains(sim.Log, d => d.Decision == "active_suspect");
        Assert.Contains(sim.Log, d => d.Decision == "path_dead" && d.Interface == "wifi");
        Assert.InRange(sim.LongestGapMs, SessionPolicy.Default.PathDeadMs, 1_500);
    }

    [Fact]
    public void Blackhole_without_a_live_candidate_does_not_switch()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetAlive("wifi", false);
        sim.SetAlive("cell", false);
        sim.Run(3_000);
        Assert.Empty(sim.Switches);
        Assert.DoesNotContain(sim.Actions, a => a.Kind == PathActionKind.Reattach);
        sim.SetAlive("cell", true);
        sim.Run(2_000);
        Assert.Equal("cell", sim.ActiveName);
    }

    [Fact]
    public void Loss_spike_moves_to_the_better_path_and_returns_after_it_ends()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetLoss("wifi", 30);
        sim.Run(5_000);
        Assert.Equal(1, sim.SwitchesBy(ReasonCode.LossRecovery));
        Assert.Equal("cell", sim.ActiveName);
        sim.SetLoss("wifi", 0);
        sim.Run(15_000);
        Assert.Equal("wifi", sim.ActiveName);
        Assert.Equal(1, sim.SwitchesBy(ReasonCode.PreferredPathChanged));
        Assert.True(sim.Switches.Count <= SessionPolicy.Default.MaxSwitchesPerMinute);
    }

    [Fact]
    public void Loss_on_both_paths_does_not_switch()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetLoss("wifi", 30);
        sim.SetLoss("cell", 40);
        sim.Run(8_000);
        Assert.Empty(sim.Switches);
    }

    [Fact]
    public void Preferred_path_returns_once_after_the_stability_window()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetAlive("wifi", false);
        sim.RemoveLink("wifi");
        sim.Run(1_000);
        Assert.Equal("cell", sim.ActiveName);
        long back = sim.NowMs;
        sim.SetAlive("wifi", true);
        sim.AddLink("wifi", 0);
        sim.Run(1_500);
        Assert.Equal("cell", sim.ActiveName); // not before the stability window (2 s)
        sim.Run(10_000);
        Assert.Equal("wifi", sim.ActiveName);
        PathSwitchRecord ret = Assert.Single(sim.Switches, s => s.Reason == ReasonCode.PreferredPathChanged);
        Assert.True(ret.AtMs - back >= SessionPolicy.Default.StabilityWindowMs, $"returned after {ret.AtMs - back} ms");
        Assert.Equal(2, sim.Switches.Count);
    }

    [Fact]
    public void Flapping_preferred_path_stays_within_the_switch_cap()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        for (int second = 0; second < 30; second++)
        {
            sim.SetAlive("wifi", second % 2 == 1);
            sim.Run(1_000);
        }
        sim.Run(30_000);
        int max = 0;
        foreach (PathSwitchRecord s in sim.Switches)
        {
            max = Math.Max(max, sim.Switches.Count(o => o.AtMs >= s.AtMs && o.AtMs < s.AtMs + 60_000));
        }
        Assert.True(max <= SessionPolicy.Default.MaxSwitchesPerMinute, $"{max} switches in 60 s");
        Assert.NotNull(sim.ActiveName);
    }

    [Fact]
    public void Voluntary_switches_respect_cooldown_and_cap()
    {
        var policy = SessionPolicy.Default with { MaxSwitchesPerMinute = 2, SwitchCooldownMs = 1_500, StabilityWindowMs = 300 };
        var sim = PathNetworkSimulation.WifiAndCell(policy);
        // Wi-Fi lossy, then clean long enough for the lossy probes to age out of the window: every cycle
        // wants a switch away and a switch back, more often than the cap of 2 per minute allows.
        for (int i = 0; i < 6; i++)
        {
            sim.SetLoss("wifi", 60);
            sim.Run(4_000);
            sim.SetLoss("wifi", 0);
            sim.Run(12_000);
        }
        foreach (PathSwitchRecord s in sim.Switches)
        {
            Assert.True(sim.Switches.Count(o => o.AtMs > s.AtMs - 60_000 && o.AtMs <= s.AtMs) <= 2);
        }
        for (int i = 1; i < sim.Switches.Count; i++)
        {
            Assert.True(sim.Switches[i].AtMs - sim.Switches[i - 1].AtMs >= 1_500);
        }
        Assert.True(sim.Log.Any(d => d.Decision == "switch_deferred"), sim.Trace());
    }

    [Fact]
    public void A_refused_reattach_keeps_the_path_out_of_the_running_for_retry_after()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        PathEntry cell = sim.Manager.Paths.Single(p => p.Info.Interface == "cell");
        sim.Manager.OnSwitchRejected(cell.Id, ReasonCode.CooldownActive, 2_000, sim.NowMs, sim.Log);
        sim.SetAlive("wifi", false);
        sim.Run(1_800); // wifi is declared dead after ~1 s, but cell is penalised for 2 s
        Assert.True(sim.Switches.Count == 0, sim.Trace());
        sim.Run(3_000);
        Assert.True(sim.ActiveName == "cell", sim.Trace());
        Assert.Contains(sim.Log, d => d.Decision == "switch_refused");
    }

    [Fact]
    public void Every_switch_is_logged_with_its_reason()
    {
        var sim = PathNetworkSimulation.WifiAndCell();
        sim.SetAlive("wifi", false);
        sim.Run(3_000);
        Assert.True(sim.Log.Count(d => d.Decision == "switch") == 1, sim.Trace());
        PathDecision decided = sim.Log.Single(d => d.Decision == "switch");
        Assert.Equal(ReasonCode.TransportDeadRecovery, decided.Reason);
        Assert.Equal("cell", decided.Interface);
        Assert.Equal("wifi", decided.FromInterface);
        Assert.Single(sim.Log, d => d.Decision == "switched");
    }

    [Fact]
    public void Before_a_session_a_stalled_handshake_moves_to_the_next_path_and_wraps_around()
    {
        var sim = new PathNetworkSimulation();
        sim.AddLink("wifi", 0);
        sim.AddLink("cell", 1);
        sim.Run(60, traffic: false);
        Assert.Equal("wifi", sim.ActiveName);
        var actions = new List<PathAction>();
        sim.Manager.OnHandshakeStalled(sim.NowMs, actions, sim.Log);
        Assert.Equal("cell", sim.ActiveName);
        Assert.Equal(PathActionKind.Use, Assert.Single(actions).Kind);
        sim.Manager.OnHandshakeStalled(sim.NowMs, actions, sim.Log);
        Assert.Equal("wifi", sim.ActiveName);
        sim.Manager.SessionBound = true; // with a session, moving needs a REATTACH: the stall rule stays out
        sim.Manager.OnHandshakeStalled(sim.NowMs, actions, sim.Log);
        Assert.Equal("wifi", sim.ActiveName);
        Assert.Equal(2, actions.Count);
    }
}
