using System.Net;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Jumping.Server;

/// <summary>The drain core (docs/cluster.md "Drain"): target choice, release before move, repeats, bounds and exit.</summary>
public sealed class NodeDrainTests
{
    private static readonly DrainNode Self = new("node-1", null, false);
    private static readonly DrainNode Two = new("node-2", new IPEndPoint(IPAddress.Parse("192.0.2.2"), 51820), false);
    private static readonly DrainNode Three = new("node-3", new IPEndPoint(IPAddress.Parse("192.0.2.3"), 51820), false);

    private static SessionId Id(int i)
    {
        byte[] b = new byte[16];
        b[0] = 1;
        b[15] = (byte)i;
        return SessionId.Read(b);
    }

    private static SessionId[] Ids(int n) => [.. Enumerable.Range(1, n).Select(Id)];

    private static List<DrainAction> Tick(NodeDrain d, long now)
    {
        var actions = new List<DrainAction>();
        d.Tick(now, actions);
        return actions;
    }

    [Fact]
    public void Sessions_are_spread_evenly_over_live_nodes_that_do_not_drain_themselves()
    {
        var draining = new DrainNode("node-0", null, true);
        var d = new NodeDrain("node-1", Ids(6), [Three, Self, draining, Two], 0);

        Assert.Equal(["node-2", "node-3"], d.Targets.Select(t => t.NodeId));
        int[] counts = [.. d.Targets.Select(t => Ids(6).Count(id => d.TargetOf(id)?.NodeId == t.NodeId))];
        Assert.Equal([3, 3], counts);
    }

    [Fact]
    public void Each_session_is_released_before_its_first_move_and_the_move_names_its_target()
    {
        var d = new NodeDrain("node-1", Ids(3), [Self, Two, Three], 0);
        List<DrainAction> first = Tick(d, 0);

        foreach (SessionId id in Ids(3))
        {
            int release = first.FindIndex(a => a.Session == id && a.Step == DrainStep.Release);
            int move = first.FindIndex(a => a.Session == id && a.Step == DrainStep.SendMove);
            Assert.True(release >= 0 && move > release, $"{id}: release at {release}, move at {move}");
            Assert.Equal(d.TargetOf(id), first[move].Target);
        }
        Assert.DoesNotContain(first, a => a.Step == DrainStep.Exit);
    }

    [Fact]
    public void Moves_repeat_until_the_client_is_seen_elsewhere_and_then_stop()
    {
        var limits = new DrainLimits { RepeatMs = 40, CheckMs = 50 };
        var d = new NodeDrain("node-1", [Id(1)], [Self, Two], 0, limits);
        Tick(d, 0);
        var moves = new List<long>();
        var checks = new List<long>();
        for (long t = 5; t <= 200; t += 5)
        {
            foreach (DrainAction a in Tick(d, t))
            {
                (a.Step == DrainStep.SendMove ? moves : a.Step == DrainStep.CheckMoved ? checks : []).Add(t);
            }
        }
        Assert.Equal([40L, 120], moves); // backing off: 40, 80, 160 ms between repeats
        Assert.Equal([50L, 100, 150, 200], checks);

        d.OnMoved(Id(1), 205);
        List<DrainAction> after = Tick(d, 210);
        Assert.DoesNotContain(after, a => a.Step is DrainStep.SendMove or DrainStep.CheckMoved or DrainStep.Release);
        Assert.Contains(after, a => a.Step == DrainStep.Exit);
        Assert.True(d.Finished);
        Assert.Equal((1, 0), (d.Moved, d.GivenUp));
        Assert.Equal([(Id(1), 205L)], d.MoveTimes());
    }

    [Fact]
    public void The_node_exits_when_every_session_moved()
    {
        var d = new NodeDrain("node-1", Ids(4), [Self, Two, Three], 0);
        Tick(d, 0);
        foreach (SessionId id in Ids(3))
        {
            d.OnMoved(id, 30);
        }
        Assert.DoesNotContain(Tick(d, 40), a => a.Step == DrainStep.Exit);
        d.OnMoved(Id(4), 45);
        Assert.Contains(Tick(d, 50), a => a.Step == DrainStep.Exit);
        Assert.Empty(Tick(d, 60)); // once
    }

    [Fact]
    public void A_client_that_never_arrives_is_given_up_after_the_move_bound_and_the_node_exits_at_the_total_bound()
    {
        var limits = new DrainLimits { MoveBoundMs = 1_000, TotalBoundMs = 5_000 };
        var d = new NodeDrain("node-1", [Id(1)], [Self, Two], 0, limits);
        Tick(d, 0);
        Assert.Contains(Tick(d, 990), a => a.Step == DrainStep.SendMove);
        List<DrainAction> bound = Tick(d, 1_000);
        Assert.DoesNotContain(bound, a => a.Step == DrainStep.SendMove);
        Assert.Contains(bound, a => a.Step == DrainStep.Exit);
        Assert.Equal((0, 1), (d.Moved, d.GivenUp));

        var slow = new NodeDrain("node-1", [Id(1)], [Self, Two], 0, new DrainLimits { MoveBoundMs = 10_000, TotalBoundMs = 2_000 });
        Tick(slow, 0);
        Assert.DoesNotContain(Tick(slow, 1_990), a => a.Step == DrainStep.Exit);
        Assert.Contains(Tick(slow, 2_000), a => a.Step == DrainStep.Exit);
    }

    [Fact]
    public void Without_another_live_node_sessions_are_only_released_and_the_node_exits()
    {
        var d = new NodeDrain("node-1", Ids(2), [Self, new DrainNode("node-2", null, Draining: true)], 0);
        List<DrainAction> actions = Tick(d, 0);
        Assert.Equal([DrainStep.Release, DrainStep.Release, DrainStep.Exit], actions.Select(a => a.Step));
        Assert.All(actions, a => Assert.Null(a.Target));
    }

    [Fact]
    public void A_node_without_sessions_exits_at_once()
    {
        var d = new NodeDrain("node-1", [], [Self, Two], 0);
        Assert.Equal([DrainStep.Exit], Tick(d, 0).Select(a => a.Step));
    }

    [Fact]
    public void Releases_are_spread_over_ticks_when_there_are_many_sessions()
    {
        var d = new NodeDrain("node-1", Ids(250), [Self, Two], 0, new DrainLimits { ReleasesPerTick = 100 });
        Assert.Equal(100, Tick(d, 0).Count(a => a.Step == DrainStep.Release));
        Assert.Equal(100, Tick(d, 5).Count(a => a.Step == DrainStep.Release));
        List<DrainAction> third = Tick(d, 10);
        Assert.Equal(50, third.Count(a => a.Step == DrainStep.Release));
        Assert.DoesNotContain(third, a => a.Step == DrainStep.Exit);
    }

    [Fact]
    public void Repeats_back_off_to_the_longest_interval()
    {
        var d = new NodeDrain("node-1", [Id(1)], [Self, Two], 0, new DrainLimits { RepeatMs = 40, MaxRepeatMs = 300, MoveBoundMs = 3_000 });
        Tick(d, 0);
        var moves = new List<long>();
        for (long t = 5; t <= 1_500; t += 5)
        {
            if (Tick(d, t).Exists(a => a.Step == DrainStep.SendMove))
            {
                moves.Add(t);
            }
        }
        Assert.Equal([40L, 120, 280, 580, 880, 1180, 1480], moves);
    }

    [Fact]
    public void A_check_round_reads_every_moving_session_at_once_and_the_next_round_waits_for_the_last_to_end()
    {
        var d = new NodeDrain("node-1", Ids(240), [Self, Two, Three], 0, new DrainLimits { ReleasesPerTick = 80, CheckMs = 50 });
        Tick(d, 0);
        Tick(d, 5);
        Tick(d, 10);
        for (long t = 15; t < 50; t += 5)
        {
            Assert.DoesNotContain(Tick(d, t), a => a.Step == DrainStep.CheckMoved);
        }
        List<DrainAction> round = Tick(d, 50);
        Assert.Equal(240, round.Count(a => a.Step == DrainStep.CheckMoved));
        Assert.Equal(240, round.Where(a => a.Step == DrainStep.CheckMoved).Select(a => a.Session).Distinct().Count());

        // The round took 120 ms (a slow store): the next starts CheckMs after it ended, not on the old schedule.
        for (int i = 1; i <= 100; i++)
        {
            d.OnMoved(Id(i), 170);
        }
        d.CheckRoundDone(170);
        Assert.Equal(140, d.Moving);
        for (long t = 175; t < 220; t += 5)
        {
            Assert.DoesNotContain(Tick(d, t), a => a.Step == DrainStep.CheckMoved);
        }
        List<DrainAction> next = Tick(d, 220);
        Assert.Equal(140, next.Count(a => a.Step == DrainStep.CheckMoved));
        Assert.DoesNotContain(next, a => a.Step == DrainStep.CheckMoved && a.Session == Id(1));
    }
}
