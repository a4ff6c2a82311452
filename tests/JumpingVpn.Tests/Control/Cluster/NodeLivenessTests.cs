using JumpingVpn.Control.Cluster;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The observer core of docs/cluster.md "Node liveness": a node is dead once its heartbeat value has not changed
/// for NodeTtl on the observer's clock, from the first listing that showed the value; deterministic times.
/// </summary>
public sealed class NodeLivenessTests
{
    private const long Ttl = 1000;
    private const long Every = 50;

    private static ClusterNodeInfo N(string id, ulong epoch, ulong beat) => new(id, epoch, beat, "", false, 0);

    [Fact]
    public void Before_the_first_listing_nothing_is_judged_dead()
    {
        var l = new NodeLiveness(Ttl, Every);
        LivenessVerdict v = l.Judge("n1", 1, 10_000);
        Assert.Equal(LivenessKind.Unknown, v.Kind);
        Assert.Equal(Every, v.RetryAfterMs);
    }

    [Fact]
    public void A_beat_that_stands_still_for_node_ttl_is_dead_with_exactly_that_beat_and_not_a_millisecond_earlier()
    {
        var l = new NodeLiveness(Ttl, Every);
        l.Observe([N("n1", 3, 40)], 5_000);
        l.Observe([N("n1", 3, 40)], 5_250); // listed again unchanged: the clock keeps running from 5000
        l.Observe([N("n1", 3, 40)], 5_500);

        LivenessVerdict alive = l.Judge("n1", 3, 5_999);
        Assert.Equal((LivenessKind.Alive, 1L, 6_000L), (alive.Kind, alive.RetryAfterMs, alive.DeadAtMs));
        LivenessVerdict dead = l.Judge("n1", 3, 6_000);
        Assert.Equal(LivenessKind.Dead, dead.Kind);
        Assert.Equal(new ObservedBeat(3, 40), dead.StaleBeat);
    }

    [Fact]
    public void An_advancing_beat_restarts_node_ttl_from_the_listing_that_showed_it()
    {
        var l = new NodeLiveness(Ttl, Every);
        l.Observe([N("n1", 3, 40)], 5_000);
        l.Observe([N("n1", 3, 41)], 5_900);
        Assert.Equal(LivenessKind.Alive, l.Judge("n1", 3, 6_500).Kind);
        Assert.Equal(400, l.Judge("n1", 3, 6_500).RetryAfterMs);
        LivenessVerdict dead = l.Judge("n1", 3, 6_900);
        Assert.Equal((LivenessKind.Dead, new ObservedBeat(3, 41)), (dead.Kind, dead.StaleBeat));
        // A lower beat (a late write of an older beat) is a change too: activity, never death.
        l.Observe([N("n1", 3, 39)], 7_000);
        Assert.Equal(LivenessKind.Alive, l.Judge("n1", 3, 7_999).Kind);
    }

    [Fact]
    public void A_node_without_a_heartbeat_record_is_dead_at_once_with_the_absent_observation()
    {
        var l = new NodeLiveness(Ttl, Every);
        l.Observe([N("n1", 1, 1)], 1_000);
        l.Observe([N("n2", 1, 1)], 1_250); // n1's record is gone
        LivenessVerdict v = l.Judge("n1", 1, 1_260);
        Assert.Equal(LivenessKind.Dead, v.Kind);
        Assert.True(v.StaleBeat.IsAbsent);
        Assert.True(l.Judge("never-listed", 1, 1_260).StaleBeat.IsAbsent);
    }

    [Fact]
    public void A_newer_incarnation_in_the_heartbeat_frees_the_old_incarnations_sessions_at_once()
    {
        var l = new NodeLiveness(Ttl, Every);
        l.Observe([N("n1", 4, 1)], 2_000);
        LivenessVerdict old = l.Judge("n1", 3, 2_001);
        Assert.Equal((LivenessKind.Dead, new ObservedBeat(4, 1)), (old.Kind, old.StaleBeat));
        Assert.Equal(LivenessKind.Alive, l.Judge("n1", 4, 2_001).Kind);
    }

    [Fact]
    public void Snapshot_names_each_node_with_the_time_it_would_be_judged_dead()
    {
        var l = new NodeLiveness(Ttl, Every);
        l.Observe([N("a", 1, 1), N("b", 2, 7)], 100);
        Assert.Equal(2, l.Snapshot().Count);
        Assert.All(l.Snapshot(), e => Assert.Equal(1_100, e.DeadAtMs));
        Assert.Equal(100, l.ListedAtMs);
    }
}
