using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// A started cluster node hands everything that may wait for the store to its control workers (docs/threads.md
/// "Control workers", docs/cluster.md "Store calls off the receive thread"): with the store hanging, the
/// receive thread (here: the test thread calling the device) and the sweep return at once, a KEEPALIVE that
/// commits nothing is still answered, a REATTACH and the frames of its peer behind it wait for the store and
/// are answered in order when it returns, and no session store call ever ran on the calling thread.
/// </summary>
public sealed class StoreOffReceiveThreadTests
{
    /// <summary>A regression would block the calling thread in the store: the gate gives up after this, so the test fails instead of hanging.</summary>
    private static readonly TimeSpan GateLimit = TimeSpan.FromSeconds(5);

    /// <summary>Far below <see cref="GateLimit"/>, far above a frame's handling on this machine.</summary>
    private const long ReturnsWithinMs = 1000;

    [Fact]
    public void With_the_store_hanging_the_receive_thread_answers_a_keepalive_and_queues_a_reattach_that_completes_when_the_store_returns()
    {
        var store = new GatedStore(new InMemorySessionStore());
        var h = new ClusterHarness(1, store);
        h.Connect();
        Node n1 = h["n1"];
        Assert.Equal("ATTACHED", Field(n1.Jumping.FormatSessions(), "state"));
        SessionId id = Sid(Field(n1.Jumping.FormatSessions(), "session_id"));
        n1.Jumping.StartControlWorkers();
        try
        {
            int caller = Environment.CurrentManagedThreadId;
            store.Close();

            // KEEPALIVE of a session with nothing due: answered on the calling thread, the store untouched.
            long took = DeliverFromClient(h, n1, Keepalive(50), h.ClientAddr);
            Assert.True(took < ReturnsWithinMs, $"a keepalive took {took} ms with the store hanging");
            Assert.Single(n1.Wire.Drain());

            // REATTACH from a new address: queued (the store hangs), the call returns at once.
            SocketAddress moved = Addr("192.0.2.1", 2002);
            took = DeliverFromClient(h, n1, Reattach(id, 51), moved);
            Assert.True(took < ReturnsWithinMs, $"a reattach held the receive thread {took} ms");
            // A KEEPALIVE of the same peer now queues behind it (order), and is not answered yet either.
            took = DeliverFromClient(h, n1, Keepalive(52), moved);
            Assert.True(took < ReturnsWithinMs, $"the keepalive behind a queued reattach took {took} ms");
            Assert.Empty(n1.Wire.Drain());
            Assert.True(n1.Jumping.Workers!.HasPending(n1.ClientOnNode));

            store.Open();
            var sw = Stopwatch.StartNew();
            var replies = new List<(byte[] Datagram, SocketAddress To)>();
            while (replies.Count < 2 && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                replies.AddRange(n1.Wire.Drain());
                Thread.Sleep(5);
            }
            Assert.Equal(2, replies.Count);
            Assert.All(replies, r => Assert.Equal(moved, r.To));
            OwnershipRecord rec = store.Inner.Read(id).Current!;
            Assert.Equal((2UL, "192.0.2.1:2002"), (rec.StateVersion, rec.Binding));
            Assert.Contains("\"reason_code\":\"REATTACH_SUCCESS\"", n1.Events(), StringComparison.Ordinal);
            Assert.NotEmpty(store.SessionCallThreads);
            Assert.DoesNotContain(caller, store.SessionCallThreads.Select(t => t.Id));
            Assert.All(store.SessionCallThreads, t => Assert.StartsWith("jvpn-control-", t.Name, StringComparison.Ordinal));
        }
        finally
        {
            store.Open();
            n1.Jumping.Workers?.Dispose();
        }
    }

    [Fact]
    public void With_the_store_hanging_the_sweep_hands_a_transport_dead_commit_to_the_worker_and_goes_on()
    {
        var store = new GatedStore(new InMemorySessionStore());
        var h = new ClusterHarness(1, store);
        h.Connect();
        Node n1 = h["n1"];
        SessionId id = Sid(Field(n1.Jumping.FormatSessions(), "session_id"));
        n1.Jumping.StartControlWorkers();
        try
        {
            int caller = Environment.CurrentManagedThreadId;
            long silenceMs = SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + 100;
            for (long stepMs = 200; silenceMs > 0; silenceMs -= stepMs)
            {
                h.Clock.Advance(TimeSpan.FromMilliseconds(Math.Min(stepMs, silenceMs)));
                n1.Cluster.Tick();
            }
            store.Close();
            var sw = Stopwatch.StartNew();
            n1.Jumping.SweepOnce([]);
            n1.Jumping.SweepOnce([]); // the session is still due: no second item while the first waits
            Assert.True(sw.ElapsedMilliseconds < ReturnsWithinMs, $"the sweep took {sw.ElapsedMilliseconds} ms with the store hanging");
            Assert.Equal(1, n1.Jumping.Workers!.Depth);
            Assert.Equal(1UL, store.Inner.Read(id).Current!.StateVersion); // (the node's status would wait for the slot's lock)

            store.Open();
            sw.Restart();
            while (Field(n1.Jumping.FormatSessions(), "state") != "RECOVERING" && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(5);
            }
            Assert.Equal("RECOVERING", Field(n1.Jumping.FormatSessions(), "state"));
            Assert.Equal((2UL, SessionState.Recovering), (store.Inner.Read(id).Current!.StateVersion, store.Inner.Read(id).Current!.State));
            Assert.DoesNotContain(caller, store.SessionCallThreads.Select(t => t.Id));
        }
        finally
        {
            store.Open();
            n1.Jumping.Workers?.Dispose();
        }
    }

    [Fact]
    public void A_keepalive_that_would_fire_a_due_timer_goes_to_the_worker_and_the_timer_commits_there()
    {
        var store = new GatedStore(new InMemorySessionStore());
        var h = new ClusterHarness(1, store);
        h.Connect();
        Node n1 = h["n1"];
        SessionId id = Sid(Field(n1.Jumping.FormatSessions(), "session_id"));
        // Silent client: transport dead (inline, before the workers start), then past the recovery window, so
        // the session has a due timer (T9 RECOVERING -> DEGRADED) that the next input would fire.
        Advance(h, n1, SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + 100);
        n1.Jumping.SweepOnce([]);
        Assert.Equal(SessionState.Recovering, store.Inner.Read(id).Current!.State);
        Advance(h, n1, SessionPolicy.Default.RecoveryWindowMs + 100);
        n1.Jumping.StartControlWorkers();
        try
        {
            int caller = Environment.CurrentManagedThreadId;
            store.Close();
            long took = DeliverFromClient(h, n1, Keepalive(60), h.ClientAddr);
            Assert.True(took < ReturnsWithinMs, $"a keepalive with a due timer held the receive thread {took} ms");
            Assert.Empty(n1.Wire.Drain()); // not answered inline: its timer's transition waits for the store

            store.Open();
            var sw = Stopwatch.StartNew();
            var replies = new List<(byte[] Datagram, SocketAddress To)>();
            while (replies.Count < 1 && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                replies.AddRange(n1.Wire.Drain());
                Thread.Sleep(5);
            }
            Assert.Single(replies);
            OwnershipRecord rec = store.Inner.Read(id).Current!;
            Assert.Equal((3UL, SessionState.Degraded), (rec.StateVersion, rec.State));
            Assert.NotEmpty(store.SessionCallThreads);
            Assert.DoesNotContain(caller, store.SessionCallThreads.Select(t => t.Id));
        }
        finally
        {
            store.Open();
            n1.Jumping.Workers?.Dispose();
        }
    }

    /// <summary>Moves the harness clock in 200 ms steps, beating as the node's heartbeat thread would (every NodeTtl/4).</summary>
    private static void Advance(ClusterHarness h, Node node, long ms)
    {
        for (long stepMs = 200; ms > 0; ms -= stepMs)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(Math.Min(stepMs, ms)));
            node.Cluster.Tick();
        }
    }

    private static byte[] Keepalive(ulong ctrlSeq)
    {
        byte[] frame = new byte[128];
        int n = new KeepaliveFrame(ctrlSeq, 1, 0, 1).Write(frame);
        return frame[..n];
    }

    private static byte[] Reattach(SessionId id, ulong ctrlSeq)
    {
        byte[] frame = new byte[128];
        int n = new ReattachRequestFrame(id, ctrlSeq, 1, ReasonCode.NatRebind, 0, 0).Write(frame);
        return frame[..n];
    }

    /// <summary>The client seals <paramref name="frame"/>; the node's device gets it on this thread. Returns how long that took, ms.</summary>
    private static long DeliverFromClient(ClusterHarness h, Node node, byte[] frame, SocketAddress from)
    {
        Assert.True(h.ClientDevice.SendControl(h.ServerOnClient, frame));
        var sw = Stopwatch.StartNew();
        foreach ((byte[] d, _) in h.ClientWire.Drain())
        {
            Deliver(node.Device, d, from, []);
        }
        return sw.ElapsedMilliseconds;
    }

    private static SessionId Sid(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id));
        return id;
    }

    /// <summary>
    /// An in-memory store whose session calls wait while the gate is closed (a store that stopped answering),
    /// at most <see cref="GateLimit"/>, and that records which thread made each session call.
    /// </summary>
    private sealed class GatedStore(InMemorySessionStore inner) : ISessionStore
    {
        private readonly ManualResetEventSlim _gate = new(true);

        public InMemorySessionStore Inner { get; } = inner;

        public ConcurrentBag<(int Id, string Name)> SessionCallThreads { get; } = [];

        public string Description => "gated memory";

        public void Close()
        {
            SessionCallThreads.Clear();
            _gate.Reset();
        }

        public void Open() => _gate.Set();

        private void Enter()
        {
            SessionCallThreads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name ?? ""));
            _gate.Wait(GateLimit);
        }

        public StoreResult Create(OwnershipRecord record)
        {
            Enter();
            return Inner.Create(record);
        }

        public StoreResult Read(SessionId id)
        {
            Enter();
            return Inner.Read(id);
        }

        public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs)
        {
            Enter();
            return Inner.CompareAndSwap(expectedVersion, next, tombstoneMs);
        }

        public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected)
        {
            Enter();
            return Inner.Acquire(id, node, nodeEpoch, expected);
        }

        public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch)
        {
            Enter();
            return Inner.Release(id, node, nodeEpoch, epoch);
        }

        public IReadOnlyList<OwnershipRecord> ListSessions() => Inner.ListSessions();

        public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule) => Inner.Reap(rule);

        // Node liveness calls run on the coordinator's own threads and are not what this test gates: only the
        // session calls above model a store that stopped answering the session layer.
        public ulong RegisterNode(string node) => Inner.RegisterNode(node);

        public bool Heartbeat(ClusterNodeInfo beat) => Inner.Heartbeat(beat);

        public IReadOnlyList<ClusterNodeInfo>? ListNodes() => Inner.ListNodes();

        public bool RequestDrain(string node, long ttlMs) => Inner.RequestDrain(node, ttlMs);

        public bool TakeDrainRequest(string node) => Inner.TakeDrainRequest(node);

        public bool PutPeer(RegisteredPeer peer) => Inner.PutPeer(peer);

        public IReadOnlyList<RegisteredPeer> ListPeers() => Inner.ListPeers();

        public bool Ping(out double latencyMs) => Inner.Ping(out latencyMs);

        public void Dispose()
        {
            Inner.Dispose();
            _gate.Dispose();
        }
    }
}
