using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tunnel.Device;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// Cluster nodes in one process (docs/design.md §6, docs/session-spec.md §5.2.3, TS10/TS20/TS21): ownership through the
/// shared store, self-fencing, failover of a session to another node with the same id and contiguous
/// versions, a restarted old owner that cannot serve, exactly one ACK when two nodes race, store outage.
/// </summary>
public sealed class ClusterNodeTests
{
    [Fact]
    public void A_new_session_is_written_to_the_store_owned_by_its_node_and_only_that_node_routes_the_client()
    {
        var h = new ClusterHarness(2);
        h.Connect();
        string sessions = h["n1"].Jumping.FormatSessions();
        Assert.Equal("ATTACHED", Field(sessions, "state"));
        SessionId id = Sid(Field(sessions, "session_id"));
        OwnershipRecord rec = h.Store.Read(id).Current!;
        Assert.Equal(("n1", 1UL, 1UL, SessionState.Attached, "192.0.2.1:1001", "10.0.0.1/32"),
            (rec.OwnerNode, rec.OwnerEpoch, rec.StateVersion, rec.State, rec.Binding, rec.InnerAddresses));
        Assert.Single(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode));
        Assert.Empty(h["n2"].Device.AllowedIps.PrefixesOf(h["n2"].ClientOnNode)); // fenced until it owns the session
        Assert.Contains("SESSION_OWNER_ACQUIRED", h["n1"].Events(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_transition_is_in_the_store_with_the_same_version_as_on_the_node()
    {
        var h = new ClusterHarness(1);
        h.Connect();
        SessionId id = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        // The client goes silent (no client sweep runs): transport dead on the server once transport_dead
        // plus the idle keepalive interval the client announced in HELLO have passed (docs/paths.md
        // "Idle"). The node renews its lease on the way, as its lease thread would.
        long silenceMs = SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + 100;
        for (long stepMs = 1_000; silenceMs > 0; silenceMs -= stepMs)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(Math.Min(stepMs, silenceMs)));
            h["n1"].Cluster.RenewOnce();
        }
        h["n1"].Jumping.SweepOnce([]);
        Assert.Equal("RECOVERING", Field(h["n1"].Jumping.FormatSessions(), "state"));
        OwnershipRecord rec = h.Store.Read(id).Current!;
        Assert.Equal((2UL, SessionState.Recovering, ""), (rec.StateVersion, rec.State, rec.Binding));
    }

    [Fact]
    public void Owner_dies_the_client_fails_over_and_the_next_node_continues_the_session_after_the_lease()
    {
        var h = new ClusterHarness(3);
        h.Connect();
        string before = h["n1"].Jumping.FormatSessions();
        string id = Field(before, "session_id");
        h.Run(TimeSpan.FromSeconds(2)); // keepalives flow, n1 renews its lease
        Assert.True(h.ClientPacketReachesANode());

        h["n1"].Down = true; // kill -9: no more renewals, no more answers
        bool refusedWhileLeaseHeld = false;
        for (int i = 0; i < 400 && Field(h.Client.FormatSessions(), "state") != "ATTACHED" || i < 100; i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
            refusedWhileLeaseHeld |= h["n2"].Events().Contains("SESSION_OWNER_REJECTED", StringComparison.Ordinal);
        }
        string after = h["n2"].Jumping.FormatSessions();
        Assert.Equal(id, Field(after, "session_id"));
        Assert.Equal("ATTACHED", Field(after, "state"));
        Assert.Equal("3", Field(after, "state_version")); // v1 ATTACHED, v2 TRANSPORT_DEAD (OWNER_FAILOVER), v3 REATTACH_SUCCESS
        Assert.True(refusedWhileLeaseHeld, "n2 should refuse (NOT_AUTHORITATIVE_OWNER) while n1's lease runs");
        string events = h["n2"].Events();
        Assert.Contains("\"event_type\":\"SESSION_OWNER_TRANSFERRED\"", events, StringComparison.Ordinal);
        Assert.Contains("\"detail_code\":\"OWNER_FAILOVER\"", events, StringComparison.Ordinal);
        Assert.Contains("\"reason_code\":\"REATTACH_SUCCESS\"", events, StringComparison.Ordinal);
        SessionId sid = Sid(id);
        OwnershipRecord rec = h.Store.Read(sid).Current!;
        Assert.Equal(("n2", 2UL, 3UL, "10.0.0.1/32"), (rec.OwnerNode, rec.OwnerEpoch, rec.StateVersion, rec.InnerAddresses));
        Assert.Equal(id, Field(h.Client.FormatSessions(), "session_id"));
        Assert.Equal("3", Field(h.Client.FormatSessions(), "state_version"));
        Assert.Contains("SERVER_FAILOVER", h.ClientEvents(), StringComparison.Ordinal);
        Assert.True(h.ClientPacketReachesANode());
        Assert.Empty(h["n3"].Device.AllowedIps.PrefixesOf(h["n3"].ClientOnNode)); // n3 never forwards for it

        // The old owner comes back with its memory (a paused process): its lease is gone, so it fences
        // itself, stops routing the client, and can never write again (epoch 1 < 2).
        h["n1"].Down = false;
        h["n1"].Cluster.RenewOnce();
        h["n1"].Jumping.SweepOnce([]);
        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions());
        Assert.Empty(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode));
        Assert.Contains("SESSION_OWNER_CONFLICT", h["n1"].Events(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_restarted_old_owner_cannot_take_the_session_back_while_the_new_owner_holds_it()
    {
        var h = new ClusterHarness(2);
        h.Connect();
        string id = Field(h["n1"].Jumping.FormatSessions(), "session_id");
        h["n1"].Down = true;
        for (int i = 0; i < 400 && Field(h["n2"].Jumping.FormatSessions(), "state") != "ATTACHED"; i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
        }
        Assert.Equal("ATTACHED", Field(h["n2"].Jumping.FormatSessions(), "state"));

        // n1 restarts (fresh memory, same node id and address) and the client is pointed at it (after
        // WireGuard's 5 s between initiations).
        h.Run(TimeSpan.FromSeconds(5.5));
        Node n1 = h.AddNode("n1", 1002);
        h.ServerOnClient.Endpoint = n1.Addr;
        h.ClientDevice.SendHandshakeInitiation(h.ServerOnClient, isRetry: false);
        h.Pump();
        h.Run(TimeSpan.FromMilliseconds(500));
        Assert.Equal(string.Empty, n1.Jumping.FormatSessions());
        Assert.Contains("SESSION_OWNER_REJECTED", n1.Events(), StringComparison.Ordinal);
        Assert.Empty(n1.Device.AllowedIps.PrefixesOf(n1.ClientOnNode));
        SessionId sid = Sid(id);
        Assert.True(h.Store.Read(sid).Current!.OwnerNode == "n2", "n1:\n" + n1.Events() + "\nn2:\n" + h["n2"].Events() + "\nclient:\n" + h.ClientEvents());
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public void Two_nodes_receive_the_same_valid_reattach_at_once_and_exactly_one_acknowledges(string storeKind)
    {
        RedisServer? redis = null;
        if (storeKind == "redis")
        {
            Requirements.EnsureTools("redis-server");
            redis = RedisServer.StartNew();
        }
        try
        {
            Race(redis);
        }
        finally
        {
            redis?.Dispose();
        }
    }

    private static void Race(RedisServer? redis)
    {
        Span<byte> frame = stackalloc byte[128];
        for (int round = 0; round < 20; round++)
        {
            ISessionStore? store = null;
            if (redis is not null)
            {
                store = redis.StoreUrl("race" + round.ToString(System.Globalization.CultureInfo.InvariantCulture), timeout: "5s").Open();
            }
            var h = new ClusterHarness(3, store);
            h.Connect();
            string id = Field(h["n1"].Jumping.FormatSessions(), "session_id");
            SessionId sid = Sid(id);
            h["n1"].Down = true;
            // n1 stops and releases its lease (the store's clock need not pass the lease: Redis runs on real time).
            h["n1"].Cluster.Forget(sid, release: true);
            // The same client identity has a WireGuard session with n2 and with n3 (two handshakes).
            (WireGuardDevice c2, Peer p2, WireSender w2) = SecondClient(h, h["n2"]);
            (WireGuardDevice c3, Peer p3, WireSender w3) = SecondClient(h, h["n3"]);
            int n = new ReattachRequestFrame(sid, 50, 1, ReasonCode.TransportDeadRecovery, 0, 0).Write(frame);
            c2.SendControl(p2, frame[..n]);
            c3.SendControl(p3, frame[..n]);
            byte[] to2 = w2.Drain().Single().Datagram;
            byte[] to3 = w3.Drain().Single().Datagram;
            using var go = new ManualResetEventSlim();
            var t2 = new Thread(() => { go.Wait(); Deliver(h["n2"].Device, to2, Addr("192.0.2.77", 7002), []); });
            var t3 = new Thread(() => { go.Wait(); Deliver(h["n3"].Device, to3, Addr("192.0.2.78", 7003), []); });
            t2.Start();
            t3.Start();
            go.Set();
            t2.Join();
            t3.Join();
            var replies = new List<ControlFrameType>();
            foreach ((WireGuardDevice dev, WireSender wire, Node node) in new[] { (c2, w2, h["n2"]), (c3, w3, h["n3"]) })
            {
                foreach ((byte[] d, _) in node.Wire.Drain())
                {
                    var sink = new Collector();
                    dev.Observer = sink;
                    Deliver(dev, d, node.Addr, []);
                    replies.AddRange(sink.Types);
                }
            }
            Assert.Equal(1, replies.Count(t => t == ControlFrameType.ReattachAck));
            Assert.Equal(1, replies.Count(t => t == ControlFrameType.ReattachReject));
            StoreResult read = h.Store.Read(sid);
            Assert.True(read.IsOk, $"round {round}: {read.Status}");
            OwnershipRecord rec = read.Current!;
            Assert.Equal(2UL, rec.OwnerEpoch);
            Assert.Equal(3UL, rec.StateVersion);
            Assert.Equal(1, h.Nodes.Count(x => x.Id != "n1" && x.Jumping.FormatSessions().Contains("state=ATTACHED", StringComparison.Ordinal)));
            h.Store.Dispose();
        }
    }

    [Fact]
    public void With_the_store_unavailable_nothing_commits_sessions_fence_at_lease_end_and_resume_when_it_returns()
    {
        var outage = new SwitchableStore(new InMemorySessionStore(new ManualTimeProvider()));
        var h = new ClusterHarness(1, outage);
        outage.Inner = new InMemorySessionStore(h.Clock);
        h.Connect();
        string id = Field(h["n1"].Jumping.FormatSessions(), "session_id");
        Assert.True(h.ClientPacketReachesANode());

        outage.Down = true;
        h.Run(TimeSpan.FromMilliseconds(LeaseMs - ClusterCoordinator.DriftMarginMs - 300));
        Assert.True(h.ClientPacketReachesANode()); // still forwarding inside the lease
        h.Run(TimeSpan.FromMilliseconds(600));
        Assert.False(h.ClientPacketReachesANode()); // lease over: fail closed
        Assert.Contains("SESSION_FENCED", h["n1"].Events(), StringComparison.Ordinal);
        h.Run(TimeSpan.FromSeconds(6));
        Assert.Contains("\"reason_code\":\"STORE_UNAVAILABLE\"", h.ClientEvents(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions());

        outage.Down = false;
        for (int i = 0; i < 200 && Field(h["n1"].Jumping.FormatSessions(), "state") != "ATTACHED"; i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
        }
        string back = h["n1"].Jumping.FormatSessions();
        Assert.Equal(id, Field(back, "session_id"));
        Assert.Equal("ATTACHED", Field(back, "state"));
        Assert.True(h.ClientPacketReachesANode());
    }

    private static SessionId Sid(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id), hex);
        return id;
    }

    private static (WireGuardDevice, Peer, WireSender) SecondClient(ClusterHarness h, Node node)
    {
        // A copy of the client's identity (the key is the proof of possession) with its own handshake to one node.
        var wire = new WireSender();
        var dev = new WireGuardDevice(new DeviceOptions { Time = h.Clock, Random = new DeterministicRandom(node.Addr.GetHashCode()).Fill }, wire);
        dev.SetPrivateKey(PrivateKeyOf(h));
        Peer p = dev.AddPeer(node.Device.Identity!.PublicKey, new byte[32]);
        p.Endpoint = node.Addr;
        dev.SendHandshakeInitiation(p, isRetry: false);
        for (int i = 0; i < 4; i++)
        {
            foreach ((byte[] d, _) in wire.Drain())
            {
                Deliver(node.Device, d, Addr("192.0.2.79", 7009), []);
            }
            foreach ((byte[] d, _) in node.Wire.Drain())
            {
                Deliver(dev, d, node.Addr, []);
            }
        }
        Assert.True(p.HasCurrentKeypair);
        return (dev, p, wire);
    }

    private static byte[] PrivateKeyOf(ClusterHarness h) => h.ClientPrivateKey;

    private sealed class Collector : IDeviceObserver
    {
        public List<ControlFrameType> Types { get; } = [];

        public void OnSessionKeysInstalled(Peer peer, bool weInitiated)
        {
        }

        public void OnUnboundSource(Peer peer, System.Net.SocketAddress from, ReadOnlySpan<byte> packet)
        {
        }

        public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, System.Net.SocketAddress from, IDatagramSender? arrivedVia)
        {
            if (ControlFrame.TryReadHeader(frame, out ControlFrameType t, out _))
            {
                Types.Add(t);
            }
        }
    }

    /// <summary>A store that can be switched off: every call answers Unavailable while <see cref="Down"/>.</summary>
    private sealed class SwitchableStore(ISessionStore inner) : ISessionStore
    {
        public ISessionStore Inner { get; set; } = inner;
        public volatile bool Down;

        public string Description => "switchable";
        public StoreResult Create(OwnershipRecord record, long leaseMs) => Down ? StoreResult.Unavailable : Inner.Create(record, leaseMs);
        public StoreResult Read(SessionId id) => Down ? StoreResult.Unavailable : Inner.Read(id);
        public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs) => Down ? StoreResult.Unavailable : Inner.CompareAndSwap(expectedVersion, next, tombstoneMs);
        public StoreResult Acquire(SessionId id, string node, long leaseMs) => Down ? StoreResult.Unavailable : Inner.Acquire(id, node, leaseMs);
        public StoreResult Renew(SessionId id, string node, ulong epoch, long leaseMs) => Down ? StoreResult.Unavailable : Inner.Renew(id, node, epoch, leaseMs);
        public StoreResult Release(SessionId id, string node, ulong epoch) => Down ? StoreResult.Unavailable : Inner.Release(id, node, epoch);
        public IReadOnlyList<OwnershipRecord> ListSessions() => Down ? [] : Inner.ListSessions();
        public bool Heartbeat(string node, string detail, long ttlMs) => !Down && Inner.Heartbeat(node, detail, ttlMs);
        public IReadOnlyList<ClusterNodeInfo> ListNodes() => Down ? [] : Inner.ListNodes();
        public bool PutPeer(RegisteredPeer peer) => !Down && Inner.PutPeer(peer);
        public IReadOnlyList<RegisteredPeer> ListPeers() => Down ? [] : Inner.ListPeers();
        public bool Ping(out double latencyMs)
        {
            latencyMs = 0;
            return !Down;
        }

        public bool RequestDrain(string node, long ttlMs) => !Down && Inner.RequestDrain(node, ttlMs);
        public bool TakeDrainRequest(string node) => !Down && Inner.TakeDrainRequest(node);

        public void Dispose() => Inner.Dispose();
    }
}
