using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The owner side of docs/cluster.md "Node liveness" with a manual clock: validity from the send time of the
/// last successful beat, the fence, a new node epoch afterwards, beats that never wait for each other, and a
/// late answer that cannot bring a fenced incarnation back.
/// </summary>
public sealed class ClusterCoordinatorTests : IDisposable
{
    private const long Ttl = ClusterCoordinator.DefaultNodeTtlMs;
    private const long Beat = ClusterCoordinator.DefaultBeatEveryMs;
    private readonly ManualTimeProvider _clock = new();
    private readonly InMemorySessionStore _store;
    private readonly Queue<(long At, Action Work)> _pending = new();

    public ClusterCoordinatorTests() => _store = new InMemorySessionStore(_clock);

    public void Dispose() => _store.Dispose();

    private ClusterCoordinator Inline() =>
        new(_store, "n1", Ttl, NullLogger.Instance, _clock) { Dispatch = static w => w() };

    /// <summary>Store calls wait in a queue until the test runs them: a store that answers as late as the test likes.</summary>
    private ClusterCoordinator Queued() =>
        new(_store, "n1", Ttl, NullLogger.Instance, _clock) { Dispatch = w => _pending.Enqueue((Now(), w)) };

    private long Now() => _clock.GetTimestamp() * 1000 / _clock.TimestampFrequency;

    private void Advance(long ms) => _clock.Advance(TimeSpan.FromMilliseconds(ms));

    /// <summary>Answers every queued store call dispatched at least <paramref name="lateMs"/> ago.</summary>
    private void RunPending(long lateMs = 0)
    {
        while (_pending.TryPeek(out var p) && Now() - p.At >= lateMs)
        {
            _pending.Dequeue().Work();
        }
    }

    [Fact]
    public void A_node_is_valid_until_its_last_successful_beat_was_sent_plus_node_ttl_minus_the_fence_margin()
    {
        using ClusterCoordinator c = Inline();
        Assert.False(c.IsValid(0, c.NowMs()));
        c.Tick();
        ulong epoch = c.NodeEpoch;
        Assert.Equal(1UL, epoch);
        long sent = c.NowMs();
        Assert.Equal(sent + Ttl - ClusterCoordinator.FenceMarginMs, c.ValidUntilMs);
        Assert.Equal(Beat, c.BeatEveryMs);
        Advance(Beat);
        c.Tick();
        Assert.Equal(sent + Beat + Ttl - ClusterCoordinator.FenceMarginMs, c.ValidUntilMs);
        Assert.True(c.IsValid(epoch, c.NowMs()));
        Assert.False(c.IsValid(epoch + 1, c.NowMs()));
        ClusterNodeInfo beat = _store.ListNodes()!.Single();
        Assert.Equal((epoch, 2UL), (beat.NodeEpoch, beat.Beat));
    }

    [Fact]
    public void Without_a_successful_beat_the_node_fences_and_comes_back_under_a_new_node_epoch()
    {
        var store = new FlakyStore(_store);
        using var c = new ClusterCoordinator(store, "n1", Ttl, NullLogger.Instance, _clock) { Dispatch = static w => w() };
        c.Tick();
        long validUntil = c.ValidUntilMs;
        store.Down = true;
        for (int i = 0; i < 9; i++)
        {
            Advance(Beat);
            c.Tick();
        }
        Assert.True(c.IsValid(1, c.NowMs()), "450 ms after the last beat: still inside NodeTtl - margin");
        Advance(validUntil - c.NowMs());
        c.CheckFence(c.NowMs());
        Assert.False(c.IsValid(1, c.NowMs()));
        Assert.Equal(1, c.Fences);
        Assert.Equal(long.MinValue, c.ValidUntilMs);

        store.Down = false;
        Advance(Beat);
        c.Tick();
        Assert.Equal(2UL, c.NodeEpoch);
        Assert.True(c.IsValid(2, c.NowMs()));
        Assert.False(c.IsValid(1, c.NowMs()), "the fenced incarnation never serves again");
    }

    [Fact]
    public void A_beat_in_flight_never_holds_back_the_next_and_at_most_max_beats_in_flight_are_outstanding()
    {
        using ClusterCoordinator c = Queued();
        Assert.Equal(10, c.MaxBeatsInFlight); // (NodeTtl - margin) / beat period at the defaults
        c.Tick();
        RunPending(); // registered, first beat answered
        Assert.Equal(1UL, c.NodeEpoch);
        for (int i = 0; i < c.MaxBeatsInFlight + 3; i++)
        {
            Advance(Beat);
            c.Tick(); // the store answers none of these yet
        }
        int beats = _pending.Count - 1; // one listing is outstanding too
        Assert.Equal(c.MaxBeatsInFlight, beats);
    }

    /// <summary>
    /// docs/cluster.md "Fence margin": with beats every period P a node survives a store round trip R while
    /// R &lt; NodeTtl − margin − P (450 ms at the defaults): each answer lands before the validity the previous
    /// answered beat gave. 400 ms (above the 300 ms of the slow-store test) keeps it valid for 4 s.
    /// </summary>
    [Theory]
    [InlineData(300)]
    [InlineData(400)]
    [InlineData(440)]
    public void A_store_answering_late_within_the_tolerance_keeps_the_node_valid(long lateMs)
    {
        using ClusterCoordinator c = Queued();
        c.Tick();
        RunPending();
        for (int i = 0; i < 400; i++)
        {
            Advance(10);
            if (i % (Beat / 10) == 0)
            {
                c.Tick(); // every beat period
            }
            RunPending(lateMs); // each beat and listing is answered lateMs after it was sent
            c.CheckFence(c.NowMs());
            Assert.True(c.IsValid(1, c.NowMs()), $"at +{(i + 1) * 10} ms");
        }
        Assert.Equal(0, c.Fences);
        Assert.True(c.BeatsSucceeded >= 4000 / Beat - lateMs / Beat - 2, c.BeatsSucceeded.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_store_answering_later_than_node_ttl_minus_margin_minus_the_beat_period_fences_the_node()
    {
        using ClusterCoordinator c = Queued();
        c.Tick();
        RunPending();
        long late = Ttl - ClusterCoordinator.FenceMarginMs - Beat + 20; // 470 ms
        for (int i = 0; i < 200 && c.Fences == 0; i++)
        {
            Advance(10);
            if (i % (Beat / 10) == 0)
            {
                c.Tick();
            }
            RunPending(late);
            c.CheckFence(c.NowMs());
        }
        Assert.Equal(1, c.Fences);
    }

    [Fact]
    public void A_beat_answered_after_validity_ended_fences_instead_of_extending()
    {
        using ClusterCoordinator c = Queued();
        c.Tick();
        RunPending();
        long validUntil = c.ValidUntilMs;
        Advance(Beat);
        c.Tick(); // beat 2 sent, the answer is late
        Advance(validUntil - c.NowMs() + 10);
        RunPending(); // beat 2 "succeeded", but only now: survivors may already have judged beat 1 stale
        Assert.Equal(1, c.Fences);
        Assert.False(c.IsValid(1, c.NowMs()));
    }

    [Fact]
    public void Sessions_are_created_and_acquired_only_while_valid_and_own_older_incarnations_need_no_wait()
    {
        using ClusterCoordinator c = Inline();
        var rec = new OwnershipRecord
        {
            Id = SessionId.Read(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
            PeerKey = Convert.ToBase64String(new byte[32]), OwnerNode = "n1", State = SessionState.Attached, StateVersion = 1,
            BoundAtVersion = 1, Binding = "192.0.2.7:4000", PolicyVersion = "1", CreatedUnixMs = 1_700_000_000_000,
        };
        Assert.Equal(StoreStatus.Unavailable, c.Create(rec, (_, _) => rec, out _).Status); // not registered yet
        c.Tick();
        Assert.True(c.Create(rec, (_, _) => rec, out OwnedSession? owned).IsOk);
        Assert.Equal((1UL, 1UL), (owned!.NodeEpoch, owned.Epoch));

        // Fenced and back: the session recorded under node epoch 1 is this node's own, free at once.
        Advance(Ttl);
        c.CheckFence(c.NowMs());
        Assert.False(owned.IsValid(c.NowMs()));
        c.Tick();
        OwnershipRecord stored = _store.Read(rec.Id).Current!;
        LivenessVerdict v = c.Judge(stored);
        Assert.Equal(LivenessKind.Dead, v.Kind);
        StoreResult again = c.Acquire(rec.Id, AcquireExpectation.Of(stored, v.StaleBeat), (_, _) => rec, out OwnedSession? reowned);
        Assert.True(again.IsOk, again.Status.ToString());
        Assert.Equal((2UL, 2UL), (reowned!.NodeEpoch, reowned.Epoch));
        Assert.True(reowned.IsValid(c.NowMs()));
    }

    [Fact]
    public void Steady_state_store_load_is_one_beat_and_one_listing_per_period_whatever_the_number_of_sessions()
    {
        var counting = new FlakyStore(_store);
        using var c = new ClusterCoordinator(counting, "n1", Ttl, NullLogger.Instance, _clock) { Dispatch = static w => w() };
        c.Tick();
        int PerPeriod()
        {
            int before = counting.Calls;
            Advance(Beat);
            c.Tick();
            return counting.Calls - before;
        }
        Assert.Equal(2, PerPeriod());
        for (int i = 0; i < 1000; i++)
        {
            var id = SessionId.Read(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            var rec = new OwnershipRecord
            {
                Id = id, PeerKey = Convert.ToBase64String(new byte[32]), OwnerNode = "n1", State = SessionState.Attached, StateVersion = 1,
                BoundAtVersion = 1, Binding = "192.0.2.7:4000", PolicyVersion = "1", CreatedUnixMs = 1_700_000_000_000,
            };
            Assert.True(c.Create(rec, (_, _) => rec, out _).IsOk);
            if (i % 200 == 0)
            {
                Advance(Beat);
                c.Tick();
            }
        }
        Assert.Equal(1000, c.OwnedCount);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(2, PerPeriod()); // one heartbeat write, one listing: O(nodes), nothing per session
        }
    }

    /// <summary>A store whose every call fails while <see cref="Down"/>; counts the calls made to it.</summary>
    private sealed class FlakyStore(ISessionStore inner) : ISessionStore
    {
        public volatile bool Down;
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>Counts the call; true when the store is down.</summary>
        private bool CountedDown() => Interlocked.Increment(ref _calls) > 0 && Down;

        public string Description => "flaky";
        public StoreResult Create(OwnershipRecord record) => CountedDown() ? StoreResult.Unavailable : inner.Create(record);
        public StoreResult Read(SessionId id) => CountedDown() ? StoreResult.Unavailable : inner.Read(id);
        public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs) => CountedDown() ? StoreResult.Unavailable : inner.CompareAndSwap(expectedVersion, next, tombstoneMs);
        public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected) => CountedDown() ? StoreResult.Unavailable : inner.Acquire(id, node, nodeEpoch, expected);
        public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch) => CountedDown() ? StoreResult.Unavailable : inner.Release(id, node, nodeEpoch, epoch);
        public IReadOnlyList<OwnershipRecord> ListSessions() => CountedDown() ? [] : inner.ListSessions();
        public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule) => CountedDown() ? null : inner.Reap(rule);
        public ulong RegisterNode(string node) => CountedDown() ? 0 : inner.RegisterNode(node);
        public bool RequestDrain(string node, long ttlMs) => !CountedDown() && inner.RequestDrain(node, ttlMs);
        public bool TakeDrainRequest(string node) => !CountedDown() && inner.TakeDrainRequest(node);
        public bool Heartbeat(ClusterNodeInfo beat) => !CountedDown() && inner.Heartbeat(beat);
        public IReadOnlyList<ClusterNodeInfo>? ListNodes() => CountedDown() ? null : inner.ListNodes();
        public bool PutPeer(RegisteredPeer peer) => !CountedDown() && inner.PutPeer(peer);
        public IReadOnlyList<RegisteredPeer> ListPeers() => CountedDown() ? [] : inner.ListPeers();
        public bool Ping(out double latencyMs)
        {
            latencyMs = 0;
            return !CountedDown();
        }

        public void Dispose() => inner.Dispose();
    }
}
