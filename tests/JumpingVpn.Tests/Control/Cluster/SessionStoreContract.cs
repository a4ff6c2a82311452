using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The store contract of docs/design.md §6 / docs/session-spec.md I6, I18, run unchanged against both implementations
/// (<see cref="InMemorySessionStoreTests"/>, <see cref="RedisSessionStoreTests"/>): CAS winner and loser,
/// lease expiry and acquisition, fencing of an old epoch, concurrent writers.
/// </summary>
public abstract class SessionStoreContract
{
    /// <summary>
    /// The lease the tests grant. Every timed assertion keeps a margin of at least half of it, so a store on
    /// a real clock (Redis) must choose one that a loaded CI machine cannot eat between two calls.
    /// </summary>
    protected virtual long LeaseMs => 1000;

    /// <summary>How long a terminated record stays readable (the margin between the CAS and the read).</summary>
    protected long TombstoneMs => LeaseMs / 2;

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

    protected static OwnershipRecord NewRecord(SessionId id, string owner = "node-a") => new()
    {
        Id = id,
        PeerKey = PeerKey,
        OwnerNode = owner,
        State = SessionState.Attached,
        StateVersion = 1,
        BoundAtVersion = 1,
        Binding = "192.0.2.7:4000",
        InnerAddresses = "10.77.0.2/32",
        PolicyVersion = "1.0",
        CreatedUnixMs = 1_700_000_000_000,
        LastReason = ReasonCode.HandshakeOk,
    };

    [Fact]
    public void Create_then_read_round_trips_every_field_with_epoch_one_and_a_running_lease()
    {
        SessionId id = NewId();
        StoreResult created = Store.Create(NewRecord(id), LeaseMs);
        Assert.Equal(StoreStatus.Ok, created.Status);
        StoreResult read = Store.Read(id);
        Assert.Equal(StoreStatus.Ok, read.Status);
        OwnershipRecord r = read.Current!;
        Assert.Equal(NewRecord(id) with { OwnerEpoch = 1, LeaseExpiryUnixMs = r.LeaseExpiryUnixMs }, r);
        Assert.InRange(r.LeaseExpiryUnixMs - read.StoreNowUnixMs, 1, LeaseMs);
        Assert.Equal(StoreStatus.AlreadyExists, Store.Create(NewRecord(id, "node-b"), LeaseMs).Status);
        Assert.Equal("node-a", Store.Read(id).Current!.OwnerNode);
        Assert.Equal(StoreStatus.NotFound, Store.Read(NewId()).Status);
    }

    [Fact]
    public void Two_writers_from_the_same_version_one_wins_the_loser_gets_stale_state_version_and_the_current_record()
    {
        SessionId id = NewId();
        Store.Create(NewRecord(id), LeaseMs);
        OwnershipRecord read = Store.Read(id).Current!;
        StoreResult first = Store.CompareAndSwap(1, read with { StateVersion = 2, Binding = "192.0.2.8:1", BoundAtVersion = 2 }, 1000);
        StoreResult second = Store.CompareAndSwap(1, read with { StateVersion = 2, Binding = "192.0.2.9:1", BoundAtVersion = 2 }, 1000);
        Assert.Equal(StoreStatus.Ok, first.Status);
        Assert.Equal(StoreStatus.StaleStateVersion, second.Status);
        Assert.Equal("192.0.2.8:1", second.Current!.Binding); // the loser sees the winner's write: never last-write-wins
        Assert.Equal("192.0.2.8:1", Store.Read(id).Current!.Binding);
    }

    [Fact]
    public void A_live_lease_refuses_acquisition_and_an_expired_one_is_acquired_with_a_new_epoch()
    {
        SessionId id = NewId();
        Store.Create(NewRecord(id), LeaseMs);
        StoreResult held = Store.Acquire(id, "node-b", LeaseMs);
        Assert.Equal(StoreStatus.LeaseHeld, held.Status);
        Assert.Equal("node-a", held.Current!.OwnerNode);
        Assert.InRange(held.LeaseRemainingMs, 1, LeaseMs);

        Elapse(LeaseMs + 150);
        StoreResult acquired = Store.Acquire(id, "node-b", LeaseMs);
        Assert.Equal(StoreStatus.Ok, acquired.Status);
        Assert.Equal("node-a", acquired.PreviousOwner);
        Assert.Equal("node-b", acquired.Current!.OwnerNode);
        Assert.Equal(2UL, acquired.Current.OwnerEpoch);
        // The state travels with the record: same id, version, binding and inner address on the new owner.
        Assert.Equal(1UL, acquired.Current.StateVersion);
        Assert.Equal("10.77.0.2/32", acquired.Current.InnerAddresses);
        // And now node-a is the one refused.
        Assert.Equal(StoreStatus.LeaseHeld, Store.Acquire(id, "node-a", LeaseMs).Status);
    }

    [Fact]
    public void Fencing_a_write_or_renewal_with_the_old_epoch_fails_after_another_node_acquired()
    {
        SessionId id = NewId();
        OwnershipRecord mine = Store.Create(NewRecord(id), LeaseMs).Current!;
        Elapse(LeaseMs + 150);
        Assert.True(Store.Acquire(id, "node-b", LeaseMs).IsOk);

        StoreResult staleWrite = Store.CompareAndSwap(1, mine with { StateVersion = 2 }, 1000);
        Assert.Equal(StoreStatus.OwnershipConflict, staleWrite.Status);
        Assert.Equal("node-b", staleWrite.Current!.OwnerNode);
        Assert.Equal(StoreStatus.OwnershipConflict, Store.Renew(id, "node-a", mine.OwnerEpoch, LeaseMs).Status);
        Assert.Equal(StoreStatus.OwnershipConflict, Store.Release(id, "node-a", mine.OwnerEpoch).Status);
        Assert.Equal(1UL, Store.Read(id).Current!.StateVersion);

        // The new owner writes with its epoch.
        OwnershipRecord b = Store.Read(id).Current!;
        Assert.True(Store.CompareAndSwap(1, b with { StateVersion = 2, State = SessionState.Recovering, Binding = "" }, 1000).IsOk);
    }

    [Fact]
    public void Renewal_extends_the_lease_and_release_lets_another_node_acquire_at_once()
    {
        SessionId id = NewId();
        OwnershipRecord r = Store.Create(NewRecord(id), LeaseMs).Current!;
        Elapse(LeaseMs / 2);
        StoreResult renewed = Store.Renew(id, "node-a", 1, LeaseMs);
        Assert.True(renewed.IsOk);
        Elapse((LeaseMs / 2) + 100);
        StoreResult held = Store.Acquire(id, "node-b", LeaseMs);
        Assert.True(held.Status == StoreStatus.LeaseHeld, // renewed: still held
            $"{held.Status}: created lease {r.LeaseExpiryUnixMs}, renewed at {renewed.StoreNowUnixMs} to {renewed.Current?.LeaseExpiryUnixMs}, acquire at {held.StoreNowUnixMs}");

        Assert.True(Store.Release(id, "node-a", r.OwnerEpoch).IsOk);
        Assert.True(Store.Acquire(id, "node-b", LeaseMs).IsOk);
    }

    [Fact]
    public void A_terminated_record_is_no_longer_listed_and_disappears_after_its_tombstone_time()
    {
        SessionId id = NewId();
        OwnershipRecord r = Store.Create(NewRecord(id), LeaseMs).Current!;
        Assert.Contains(Store.ListSessions(), s => s.Id == id);
        Assert.True(Store.CompareAndSwap(1, r with { StateVersion = 2, State = SessionState.Terminated, Binding = "" }, TombstoneMs).IsOk);
        Assert.DoesNotContain(Store.ListSessions(), s => s.Id == id);
        Assert.Equal(SessionState.Terminated, Store.Read(id).Current!.State);
        Elapse(TombstoneMs * 2);
        Assert.Equal(StoreStatus.NotFound, Store.Read(id).Status);
    }

    [Fact]
    public void Concurrent_writers_on_threads_produce_contiguous_versions_with_exactly_one_winner_per_version()
    {
        SessionId id = NewId();
        Store.Create(NewRecord(id), 60_000);
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
    public void Nodes_and_peers_are_registered_and_expired_nodes_drop_out()
    {
        Assert.True(Store.Heartbeat("node-x", "udp 51820", LeaseMs));
        Assert.True(Store.PutPeer(new RegisteredPeer("a2V5", "10.77.0.2/32")));
        Assert.Contains(Store.ListNodes(), n => n.NodeId == "node-x" && n.Detail == "udp 51820");
        Assert.Contains(Store.ListPeers(), p => p.PublicKey == "a2V5" && p.AllowedIps == "10.77.0.2/32");
        Elapse(LeaseMs + 150);
        Assert.DoesNotContain(Store.ListNodes(), n => n.NodeId == "node-x");
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
        Assert.True(Store.RequestDrain(node, 10 * LeaseMs));
        Assert.False(Store.TakeDrainRequest(node + "x"));
        Assert.True(Store.TakeDrainRequest(node));
        Assert.False(Store.TakeDrainRequest(node));

        Assert.True(Store.RequestDrain(node, LeaseMs / 2));
        Elapse(LeaseMs);
        Assert.False(Store.TakeDrainRequest(node));
    }
}
