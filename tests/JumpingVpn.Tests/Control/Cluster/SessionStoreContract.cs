using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The store contract of docs/design.md §6 / docs/session-spec.md I6, I18 and docs/cluster.md "Failover", run
/// unchanged against every implementation (<see cref="InMemorySessionStoreTests"/>, <see cref="RedisSessionStoreTests"/>,
/// <see cref="EtcdSessionStoreTests"/>): CAS winner and loser, the acquire rule (a stale beat wins once, an
/// advancing beat blocks, released is immediate, an old node epoch cannot write), concurrent writers and acquirers.
/// </summary>
public abstract class SessionStoreContract
{
    /// <summary>How long a terminated record stays readable; a store on a real clock needs a margin a loaded CI machine cannot eat.</summary>
    protected virtual long TombstoneMs => 500;

    /// <summary>False for a store whose heartbeat write is a plain put (etcd): a late beat of an older incarnation lands.</summary>
    protected virtual bool RefusesOlderIncarnationBeats => true;

    /// <summary>A store with an empty keyspace of its own.</summary>
    protected abstract ISessionStore Store { get; }

    /// <summary>Lets the store's clock pass <paramref name="ms"/> (manual clock, or real sleep for Redis).</summary>
    protected abstract void Elapse(long ms);

    private static int s_next;

    protected static SessionId NewId()
    {
        Span<byte> b = stackalloc byte[SessionId.Size];
        System.Security.Cryptography.RandomNumberGenerator.Fill(b);
        b[0] = (byte)Interlocked.Increment(ref s_next);
        return SessionId.Read(b);
    }

    /// <summary>A well-formed WireGuard public key (the Redis decoder refuses anything else).</summary>
    protected static readonly string PeerKey = Convert.ToBase64String(new byte[32] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 });

    protected static OwnershipRecord NewRecord(SessionId id, string owner = "node-a", ulong nodeEpoch = 1) => new()
    {
        Id = id,
        PeerKey = PeerKey,
        OwnerNode = owner,
        OwnerNodeEpoch = nodeEpoch,
        State = SessionState.Attached,
        StateVersion = 1,
        BoundAtVersion = 1,
        Binding = "192.0.2.7:4000",
        InnerAddresses = "10.77.0.2/32",
        PolicyVersion = "1.0",
        CreatedUnixMs = 1_700_000_000_000,
        LastReason = ReasonCode.HandshakeOk,
    };

    /// <summary>A node id of this test alone (the keyspace is shared by the tests of one class).</summary>
    protected static string NodeName(string role) => role + "-" + NetNs.RandomHex(3);

    /// <summary>Registers <paramref name="node"/> and writes its heartbeat with <paramref name="beat"/>: (node epoch, beat).</summary>
    protected ObservedBeat Beat(string node, ulong beat, ulong? epoch = null)
    {
        ulong e = epoch ?? Store.RegisterNode(node);
        Assert.True(e > 0);
        Assert.True(Store.Heartbeat(new ClusterNodeInfo(node, e, beat, "192.0.2.1:51820", false, 0)));
        return new ObservedBeat(e, beat);
    }

    [Fact]
    public void Create_then_read_round_trips_every_field_with_epoch_one_not_released()
    {
        SessionId id = NewId();
        StoreResult created = Store.Create(NewRecord(id, nodeEpoch: 7));
        Assert.Equal(StoreStatus.Ok, created.Status);
        StoreResult read = Store.Read(id);
        Assert.Equal(StoreStatus.Ok, read.Status);
        Assert.Equal(NewRecord(id, nodeEpoch: 7) with { OwnerEpoch = 1 }, read.Current);
        Assert.False(read.Current!.Released);
        Assert.Equal(StoreStatus.AlreadyExists, Store.Create(NewRecord(id, "node-b")).Status);
        Assert.Equal("node-a", Store.Read(id).Current!.OwnerNode);
        Assert.Equal(StoreStatus.NotFound, Store.Read(NewId()).Status);
    }

    [Fact]
    public void Two_writers_from_the_same_version_one_wins_the_loser_gets_stale_state_version_and_the_current_record()
    {
        SessionId id = NewId();
        Store.Create(NewRecord(id));
        OwnershipRecord read = Store.Read(id).Current!;
        StoreResult first = Store.CompareAndSwap(1, read with { StateVersion = 2, Binding = "192.0.2.8:1", BoundAtVersion = 2 }, 1000);
        StoreResult second = Store.CompareAndSwap(1, read with { StateVersion = 2, Binding = "192.0.2.9:1", BoundAtVersion = 2 }, 1000);
        Assert.Equal(StoreStatus.Ok, first.Status);
        Assert.Equal(StoreStatus.StaleStateVersion, second.Status);
        Assert.Equal("192.0.2.8:1", second.Current!.Binding); // the loser sees the winner's write: never last-write-wins
        Assert.Equal("192.0.2.8:1", Store.Read(id).Current!.Binding);
    }

    [Fact]
    public void Acquire_on_the_stale_beat_wins_once_with_a_new_epoch_and_the_state_travels()
    {
        string a = NodeName("a"), b = NodeName("b");
        ObservedBeat stale = Beat(a, 5);
        ulong bEpoch = Store.RegisterNode(b);
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, a, stale.NodeEpoch)).Current!;

        StoreResult acquired = Store.Acquire(id, b, bEpoch, AcquireExpectation.Of(rec, stale));
        Assert.Equal(StoreStatus.Ok, acquired.Status);
        Assert.Equal(a, acquired.PreviousOwner);
        Assert.Equal((b, bEpoch, 2UL, false), (acquired.Current!.OwnerNode, acquired.Current.OwnerNodeEpoch, acquired.Current.OwnerEpoch, acquired.Current.Released));
        // The state travels with the record: same id, version, binding and inner address on the new owner.
        Assert.Equal((1UL, "10.77.0.2/32", "192.0.2.7:4000"), (acquired.Current.StateVersion, acquired.Current.InnerAddresses, acquired.Current.Binding));
        Assert.Equal(acquired.Current, Store.Read(id).Current);

        // The same judgement a second time (another survivor, or a retry) loses: the record moved on.
        StoreResult again = Store.Acquire(id, NodeName("c"), 1, AcquireExpectation.Of(rec, stale));
        Assert.Equal(StoreStatus.OwnershipConflict, again.Status);
        Assert.Equal(b, again.Current!.OwnerNode);
    }

    [Fact]
    public void An_advancing_beat_blocks_the_acquire_and_a_changed_record_refuses_it()
    {
        string a = NodeName("a"), b = NodeName("b");
        ObservedBeat seen = Beat(a, 5);
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, a, seen.NodeEpoch)).Current!;
        Beat(a, 6, seen.NodeEpoch); // the owner is alive after all

        StoreResult blocked = Store.Acquire(id, b, 1, AcquireExpectation.Of(rec, seen));
        Assert.Equal(StoreStatus.OwnerAlive, blocked.Status);
        Assert.Equal((a, 1UL), (blocked.Current!.OwnerNode, blocked.Current.OwnerEpoch));
        // No heartbeat seen at all while one exists: blocked too.
        Assert.Equal(StoreStatus.OwnerAlive, Store.Acquire(id, b, 1, AcquireExpectation.Of(rec, default)).Status);

        // The owner commits meanwhile: an acquire judged on the old version is refused with the current record.
        Assert.True(Store.CompareAndSwap(1, rec with { StateVersion = 2 }, 1000).IsOk);
        StoreResult stale = Store.Acquire(id, b, 1, AcquireExpectation.Of(rec, new ObservedBeat(seen.NodeEpoch, 6)));
        Assert.Equal(StoreStatus.StaleStateVersion, stale.Status);
        Assert.Equal(2UL, stale.Current!.StateVersion);
        Assert.Equal(a, Store.Read(id).Current!.OwnerNode);

        // Judged on what the store holds now, the takeover goes through.
        Assert.True(Store.Acquire(id, b, 1, AcquireExpectation.Of(stale.Current, new ObservedBeat(seen.NodeEpoch, 6))).IsOk);
    }

    [Fact]
    public void An_owner_without_any_heartbeat_record_can_be_taken_over_on_that_observation()
    {
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, NodeName("never-beat"), 3)).Current!;
        Assert.True(Store.Acquire(id, NodeName("b"), 1, AcquireExpectation.Of(rec, default)).IsOk);
    }

    [Fact]
    public void A_released_session_is_acquired_at_once_and_its_old_owner_can_no_longer_write()
    {
        string a = NodeName("a");
        ulong aEpoch = Beat(a, 9).NodeEpoch;
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, a, aEpoch)).Current!;
        Assert.Equal(StoreStatus.OwnershipConflict, Store.Release(id, a, aEpoch + 1, 1).Status); // not that incarnation
        StoreResult released = Store.Release(id, a, aEpoch, 1);
        Assert.Equal(StoreStatus.Ok, released.Status);
        Assert.True(released.Current!.Released);
        Assert.Equal(StoreStatus.OwnershipConflict, Store.CompareAndSwap(1, rec with { StateVersion = 2 }, 1000).Status);

        // The heartbeat is alive and was not observed by the acquirer: released makes that irrelevant.
        StoreResult taken = Store.Acquire(id, NodeName("b"), 1, AcquireExpectation.Of(released.Current, default));
        Assert.Equal(StoreStatus.Ok, taken.Status);
        Assert.False(taken.Current!.Released);
        Assert.Equal(2UL, taken.Current.OwnerEpoch);
    }

    [Fact]
    public void A_batched_release_keeps_each_sessions_condition_and_a_batched_read_answers_in_order()
    {
        string a = NodeName("a");
        ulong aEpoch = Beat(a, 9).NodeEpoch;
        SessionId[] ids = [NewId(), NewId(), NewId(), NewId()];
        foreach (SessionId id in ids[..3])
        {
            Assert.True(Store.Create(NewRecord(id, a, aEpoch)).IsOk);
        }
        // ids[1] is asked for under another incarnation (refused), ids[3] does not exist.
        IReadOnlyList<StoreResult> released = Store.ReleaseMany(
        [
            new ReleaseRequest(ids[0], a, aEpoch, 1), new ReleaseRequest(ids[1], a, aEpoch + 1, 1),
            new ReleaseRequest(ids[2], a, aEpoch, 1), new ReleaseRequest(ids[3], a, aEpoch, 1),
        ]);
        Assert.Equal([StoreStatus.Ok, StoreStatus.OwnershipConflict, StoreStatus.Ok, StoreStatus.NotFound], released.Select(r => r.Status));

        IReadOnlyList<StoreResult> read = Store.ReadMany([ids[3], ids[2], ids[1], ids[0]]);
        Assert.Equal([StoreStatus.NotFound, StoreStatus.Ok, StoreStatus.Ok, StoreStatus.Ok], read.Select(r => r.Status));
        Assert.Equal([ids[2], ids[1], ids[0]], read.Skip(1).Select(r => r.Current!.Id));
        Assert.Equal([true, false, true], read.Skip(1).Select(r => r.Current!.Released));
    }

    [Fact]
    public void A_new_incarnation_takes_its_own_sessions_at_once_and_the_old_node_epoch_cannot_write()
    {
        string a = NodeName("a");
        ObservedBeat old = Beat(a, 40);
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, a, old.NodeEpoch)).Current!;
        ulong newer = Store.RegisterNode(a);
        Assert.True(newer > old.NodeEpoch, "a registration hands out a larger node epoch");

        // Another node may not, on this (unchanged, unobserved) heartbeat ...
        Assert.Equal(StoreStatus.OwnerAlive, Store.Acquire(id, NodeName("b"), 1, AcquireExpectation.Of(rec, default)).Status);
        // ... the node's own new incarnation may, without any observation.
        StoreResult own = Store.Acquire(id, a, newer, AcquireExpectation.Of(rec, default));
        Assert.Equal(StoreStatus.Ok, own.Status);
        Assert.Equal((newer, 2UL), (own.Current!.OwnerNodeEpoch, own.Current.OwnerEpoch));

        // Writes, releases and own-acquires under the old node epoch are fenced.
        Assert.Equal(StoreStatus.OwnershipConflict, Store.CompareAndSwap(1, rec with { StateVersion = 2 }, 1000).Status);
        Assert.Equal(StoreStatus.OwnershipConflict, Store.CompareAndSwap(1, own.Current with { OwnerNodeEpoch = old.NodeEpoch, StateVersion = 2 }, 1000).Status);
        Assert.Equal(StoreStatus.OwnershipConflict, Store.Release(id, a, old.NodeEpoch, 2).Status);
        Assert.Equal(StoreStatus.OwnerAlive, Store.Acquire(id, a, old.NodeEpoch, AcquireExpectation.Of(own.Current, default)).Status);
        Assert.True(Store.CompareAndSwap(1, own.Current with { StateVersion = 2 }, 1000).IsOk);
    }

    [Fact]
    public void A_heartbeat_of_a_newer_incarnation_frees_the_old_incarnations_sessions_for_everyone()
    {
        string a = NodeName("a");
        ObservedBeat old = Beat(a, 3);
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, a, old.NodeEpoch)).Current!;
        Beat(a, 1); // restarted: new node epoch, beating
        Assert.True(Store.Acquire(id, NodeName("b"), 1, AcquireExpectation.Of(rec, default)).IsOk);
    }

    [Fact]
    public void Eight_threads_acquire_the_same_stale_session_and_exactly_one_gets_it()
    {
        string a = NodeName("a");
        ObservedBeat stale = Beat(a, 2);
        SessionId id = NewId();
        OwnershipRecord rec = Store.Create(NewRecord(id, a, stale.NodeEpoch)).Current!;
        var results = new System.Collections.Concurrent.ConcurrentBag<StoreStatus>();
        using var go = new ManualResetEventSlim();
        var threads = new List<Thread>();
        for (int i = 0; i < 8; i++)
        {
            string node = "t" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + a;
            threads.Add(new Thread(() =>
            {
                go.Wait();
                results.Add(Store.Acquire(id, node, 1, AcquireExpectation.Of(rec, stale)).Status);
            }));
        }
        threads.ForEach(t => t.Start());
        go.Set();
        threads.ForEach(t => t.Join());
        Assert.Equal(1, results.Count(s => s == StoreStatus.Ok));
        Assert.Equal(7, results.Count(s => s == StoreStatus.OwnershipConflict));
        Assert.Equal(2UL, Store.Read(id).Current!.OwnerEpoch);
    }

    [Fact]
    public void A_terminated_record_is_no_longer_listed_and_disappears_after_its_tombstone_time()
    {
        SessionId id = NewId();
        OwnershipRecord r = Store.Create(NewRecord(id)).Current!;
        Assert.Contains(Store.ListSessions(), s => s.Id == id);
        Assert.True(Store.CompareAndSwap(1, r with { StateVersion = 2, State = SessionState.Terminated, Binding = "" }, TombstoneMs).IsOk);
        Assert.DoesNotContain(Store.ListSessions(), s => s.Id == id);
        Assert.Equal(SessionState.Terminated, Store.Read(id).Current!.State);
        Elapse(TombstoneMs * 2);
        Assert.Equal(StoreStatus.NotFound, Store.Read(id).Status);
    }

    /// <summary>The store's clock now (a read answers with it).</summary>
    private long StoreNow() => Store.Read(NewId()).StoreNowUnixMs;

    /// <summary>
    /// Sweeps until <paramref name="id"/> is among the ended records, at most 20 times (the keyspace is shared with the
    /// other tests of the class, whose records are years old and due too); every record it ended, in order.
    /// </summary>
    private List<OwnershipRecord> ReapUntil(RecordExpiry rule, SessionId id)
    {
        var all = new List<OwnershipRecord>();
        for (int i = 0; i < 20; i++)
        {
            IReadOnlyList<OwnershipRecord>? ended = Store.Reap(rule);
            Assert.NotNull(ended);
            all.AddRange(ended);
            if (ended.Any(r => r.Id == id))
            {
                break;
            }
        }
        return all;
    }

    [Fact]
    public void A_record_older_than_the_lifetime_is_ended_once_by_the_sweep_and_a_younger_one_is_not()
    {
        // Creation is timed on the store's clock, not by the record's created field (a node's wall clock may be off).
        SessionId old = NewId();
        SessionId young = NewId();
        Assert.True(Store.Create(NewRecord(old) with { CreatedUnixMs = StoreNow() + 86_400_000 }).IsOk);
        Elapse(3500);
        Assert.True(Store.Create(NewRecord(young)).IsOk); // created years ago by its field: still young by the store's clock
        // Margins of seconds: a loaded CI machine may take a while between these calls on a real clock.
        var rule = new RecordExpiry(LifetimeMs: 3000, ReleasedMs: 3_600_000, TombstoneMs, Max: 256);

        List<OwnershipRecord> ended = ReapUntil(rule, old);

        OwnershipRecord tomb = Assert.Single(ended, r => r.Id == old);
        Assert.DoesNotContain(ended, r => r.Id == young);
        Assert.Equal((SessionState.Terminated, 2UL, ReasonCode.SessionTtlExpired, "node-a", 1UL), (tomb.State, tomb.StateVersion, tomb.LastReason, tomb.OwnerNode, tomb.OwnerEpoch));
        Assert.Equal(tomb, Store.Read(old).Current);
        Assert.DoesNotContain(Store.ListSessions(), r => r.Id == old);
        Assert.Contains(Store.ListSessions(), r => r.Id == young);
        // The owner, had it come back, can no longer write the ended session.
        Assert.Equal(StoreStatus.StaleStateVersion, Store.CompareAndSwap(1, NewRecord(old) with { OwnerEpoch = 1, StateVersion = 2 }, TombstoneMs).Status);
        Assert.Equal(SessionState.Attached, Store.Read(young).Current!.State);
        Assert.DoesNotContain(Store.Reap(rule)!, r => r.Id == old); // ended once
        Elapse(TombstoneMs * 2);
        Assert.Equal(StoreStatus.NotFound, Store.Read(old).Status);
        Elapse(rule.LifetimeMs);
        Assert.Contains(ReapUntil(rule, young), r => r.Id == young); // now the younger one is due too
    }

    [Fact]
    public void A_record_released_longer_than_the_released_time_is_ended_and_one_acquired_or_released_again_since_is_not()
    {
        SessionId abandoned = NewId();
        SessionId continued = NewId();
        SessionId again = NewId();
        foreach (SessionId id in (SessionId[])[abandoned, continued, again])
        {
            Assert.True(Store.Create(NewRecord(id)).IsOk);
            Assert.True(Store.Release(id, "node-a", 1, 1).IsOk);
        }
        string b = NodeName("node-b");
        Assert.True(Store.Acquire(continued, b, 1, AcquireExpectation.Of(Store.Read(continued).Current!, default)).IsOk);
        Assert.True(Store.Acquire(again, b, 1, AcquireExpectation.Of(Store.Read(again).Current!, default)).IsOk);
        var rule = new RecordExpiry(LifetimeMs: 3_600_000, ReleasedMs: 3000, TombstoneMs, Max: 256);
        Assert.DoesNotContain(Store.Reap(rule)!, r => r.Id == abandoned || r.Id == continued || r.Id == again); // not due yet

        Elapse(3500);
        Assert.True(Store.Release(again, b, 1, 2).IsOk); // released again: due 3 s from now, not from the first release
        List<OwnershipRecord> ended = ReapUntil(rule, abandoned);

        OwnershipRecord tomb = Assert.Single(ended, r => r.Id == abandoned);
        Assert.Equal((SessionState.Terminated, 2UL, ReasonCode.TransportLossTtlExpired, false), (tomb.State, tomb.StateVersion, tomb.LastReason, tomb.Released));
        Assert.Equal(tomb, Store.Read(abandoned).Current);
        Assert.DoesNotContain(ended, r => r.Id == continued || r.Id == again);
        Assert.Equal((b, false, SessionState.Attached), (Store.Read(continued).Current!.OwnerNode, Store.Read(continued).Current!.Released, Store.Read(continued).Current!.State));
        Assert.True(Store.Read(again).Current!.Released);

        Elapse(3500);
        Assert.Contains(ReapUntil(rule, again), r => r.Id == again);
        Assert.Equal(SessionState.Terminated, Store.Read(again).Current!.State);
        Assert.Equal(SessionState.Attached, Store.Read(continued).Current!.State);
    }

    [Fact]
    public void Four_threads_sweeping_at_once_end_a_due_record_exactly_once()
    {
        SessionId id = NewId();
        Assert.True(Store.Create(NewRecord(id)).IsOk);
        Elapse(300);
        var rule = new RecordExpiry(LifetimeMs: 200, ReleasedMs: 3_600_000, TombstoneMs, Max: 256);
        var endedBy = new int[4];
        using var start = new Barrier(4);
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < 10; i++)
            {
                IReadOnlyList<OwnershipRecord>? ended = Store.Reap(rule);
                endedBy[t] += ended?.Count(r => r.Id == id) ?? 0;
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));
        Assert.Equal(1, endedBy.Sum());
        Assert.Equal(2UL, Store.Read(id).Current!.StateVersion);
    }

    [Fact]
    public void Concurrent_writers_on_threads_produce_contiguous_versions_with_exactly_one_winner_per_version()
    {
        SessionId id = NewId();
        Store.Create(NewRecord(id));
        const int Writers = 4;
        const int Iterations = 100;
        var written = new System.Collections.Concurrent.ConcurrentBag<ulong>();
        int lost = 0;
        // Dedicated threads, as in jvpn (receive and sweep threads): blocking store calls on thread-pool
        // workers would starve the pool the Redis client completes on.
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = new List<Thread>();
        for (int t = 0; t < Writers; t++)
        {
            threads.Add(new Thread(() =>
            {
                for (int i = 0; i < Iterations; i++)
                {
                    StoreResult read = Store.Read(id);
                    if (!read.IsOk)
                    {
                        errors.Enqueue("read: " + read.Status);
                        return;
                    }
                    OwnershipRecord cur = read.Current!;
                    StoreResult cas = Store.CompareAndSwap(cur.StateVersion, cur with { StateVersion = cur.StateVersion + 1 }, 1000);
                    if (cas.IsOk)
                    {
                        written.Add(cur.StateVersion + 1);
                    }
                    else if (cas.Status == StoreStatus.StaleStateVersion)
                    {
                        Interlocked.Increment(ref lost);
                    }
                    else
                    {
                        errors.Enqueue("cas: " + cas.Status);
                        return;
                    }
                }
            }));
        }
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(errors);
        AssertContiguous(written, Store.Read(id).Current!.StateVersion);
        Assert.Equal(Writers * Iterations, written.Count + lost);
    }

    [Fact]
    public void Node_epochs_grow_heartbeats_list_every_field_and_peers_are_registered()
    {
        string x = NodeName("x");
        ulong first = Store.RegisterNode(x);
        ulong second = Store.RegisterNode(x);
        Assert.True(first > 0 && second > first, $"node epochs {first}, {second}");
        Assert.True(Store.Heartbeat(new ClusterNodeInfo(x, second, 12, "192.0.2.44:51820", true, 0)));
        ClusterNodeInfo listed = Store.ListNodes()!.Single(n => n.NodeId == x);
        Assert.Equal((second, 12UL, "192.0.2.44:51820", true), (listed.NodeEpoch, listed.Beat, listed.Endpoint, listed.Draining));
        Assert.True(listed.SeenUnixMs > 0, "the store stamps the time it took the beat");

        // A late beat of the older incarnation does not replace the newer one's record.
        bool lateLanded = Store.Heartbeat(new ClusterNodeInfo(x, first, 99, "", false, 0));
        if (RefusesOlderIncarnationBeats)
        {
            Assert.False(lateLanded);
            Assert.Equal(12UL, Store.ListNodes()!.Single(n => n.NodeId == x).Beat);
        }

        Assert.True(Store.PutPeer(new RegisteredPeer("a2V5", "10.77.0.2/32")));
        Assert.Contains(Store.ListPeers(), p => p.PublicKey == "a2V5" && p.AllowedIps == "10.77.0.2/32");
        Assert.True(Store.Ping(out _));
    }

    /// <summary>Every version from 2 to the final one written exactly once (no lost or doubled write).</summary>
    protected static void AssertContiguous(IEnumerable<ulong> written, ulong finalVersion)
    {
        ulong[] sorted = [.. written.Order()];
        Assert.Equal(finalVersion - 1, (ulong)sorted.Length);
        for (int i = 0; i < sorted.Length; i++)
        {
            Assert.Equal((ulong)i + 2, sorted[i]);
        }
    }

    [Fact]
    public void A_drain_request_is_taken_exactly_once_by_its_node_and_expires_untaken()
    {
        string node = "drain-" + NewId().ToString()[..8];
        Assert.False(Store.TakeDrainRequest(node));
        Assert.True(Store.RequestDrain(node, 10_000));
        Assert.False(Store.TakeDrainRequest(node + "x"));
        Assert.True(Store.TakeDrainRequest(node));
        Assert.False(Store.TakeDrainRequest(node));

        Assert.True(Store.RequestDrain(node, 500));
        Elapse(1_000);
        Assert.False(Store.TakeDrainRequest(node));
    }
}
