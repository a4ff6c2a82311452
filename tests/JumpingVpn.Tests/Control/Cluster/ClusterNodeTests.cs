using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tunnel.Device;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// Cluster nodes in one process (docs/design.md §6, docs/session-spec.md §5.2.3, docs/cluster.md "Failover",
/// TS10/TS20/TS21): ownership through the shared store under node liveness, self-fencing, failover of a session
/// to another node with the same id and contiguous versions once the owner's heartbeat stood still for NodeTtl,
/// a restarted old owner that cannot serve, exactly one ACK when two nodes race, store outage.
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
        Assert.Equal(("n1", h["n1"].Cluster.NodeEpoch, 1UL, 1UL, SessionState.Attached, "192.0.2.1:1001", "10.0.0.1/32"),
            (rec.OwnerNode, rec.OwnerNodeEpoch, rec.OwnerEpoch, rec.StateVersion, rec.State, rec.Binding, rec.InnerAddresses));
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
        // "Idle"). The node beats on the way, as its heartbeat loop would.
        long silenceMs = SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + 100;
        for (long stepMs = 250; silenceMs > 0; silenceMs -= stepMs)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(Math.Min(stepMs, silenceMs)));
            h["n1"].Cluster.Tick();
        }
        h["n1"].Jumping.SweepOnce([]);
        Assert.Equal("RECOVERING", Field(h["n1"].Jumping.FormatSessions(), "state"));
        OwnershipRecord rec = h.Store.Read(id).Current!;
        Assert.Equal((2UL, SessionState.Recovering, ""), (rec.StateVersion, rec.State, rec.Binding));
    }

    [Fact]
    public void Owner_dies_the_client_fails_over_and_the_next_node_continues_the_session_once_the_heartbeat_stood_still()
    {
        var h = new ClusterHarness(3);
        h.Connect();
        string before = h["n1"].Jumping.FormatSessions();
        string id = Field(before, "session_id");
        h.Run(TimeSpan.FromSeconds(2)); // keepalives flow, n1 beats
        Assert.True(h.ClientPacketReachesANode());

        h["n1"].Down = true; // kill -9: no more beats, no more answers
        for (int i = 0; i < 400 && Field(h.Client.FormatSessions(), "state") != "ATTACHED" || i < 100; i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
        }
        string after = h["n2"].Jumping.FormatSessions();
        Assert.Equal(id, Field(after, "session_id"));
        Assert.Equal("ATTACHED", Field(after, "state"));
        Assert.Equal("3", Field(after, "state_version")); // v1 ATTACHED, v2 TRANSPORT_DEAD (OWNER_FAILOVER), v3 REATTACH_SUCCESS
        string events = h["n2"].Events();
        Assert.Contains("\"event_type\":\"SESSION_OWNER_TRANSFERRED\"", events, StringComparison.Ordinal);
        Assert.Contains("\"detail_code\":\"OWNER_FAILOVER\"", events, StringComparison.Ordinal);
        Assert.Contains("\"reason_code\":\"REATTACH_SUCCESS\"", events, StringComparison.Ordinal);
        SessionId sid = Sid(id);
        OwnershipRecord rec = h.Store.Read(sid).Current!;
        Assert.Equal(("n2", h["n2"].Cluster.NodeEpoch, 2UL, 3UL, "10.0.0.1/32"), (rec.OwnerNode, rec.OwnerNodeEpoch, rec.OwnerEpoch, rec.StateVersion, rec.InnerAddresses));
        Assert.Equal(id, Field(h.Client.FormatSessions(), "session_id"));
        Assert.Equal("3", Field(h.Client.FormatSessions(), "state_version"));
        Assert.Contains("SERVER_FAILOVER", h.ClientEvents(), StringComparison.Ordinal);
        Assert.True(h.ClientPacketReachesANode());
        Assert.Empty(h["n3"].Device.AllowedIps.PrefixesOf(h["n3"].ClientOnNode)); // n3 never forwards for it

        // The old owner comes back with its memory (a paused process): no beat succeeded for far longer than
        // NodeTtl, so it fences itself, stops routing the client, registers a new node epoch, and can never
        // write again under the old one (owner_epoch 1 < 2).
        ulong oldEpoch = h["n1"].Cluster.NodeEpoch;
        h["n1"].Down = false;
        h["n1"].Cluster.Tick();
        h["n1"].Jumping.SweepOnce([]);
        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions());
        Assert.Empty(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode));
        Assert.Contains("\"detail_code\":\"NODE_FENCED\"", h["n1"].Events(), StringComparison.Ordinal);
        Assert.Equal(1, h["n1"].Cluster.Fences);
        Assert.True(h["n1"].Cluster.NodeEpoch > oldEpoch, "a fenced node comes back under a new node epoch");
        Assert.Equal("n2", h.Store.Read(sid).Current!.OwnerNode);
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

    [Fact]
    public void A_reattach_to_another_node_while_the_owner_beats_is_refused_until_it_would_be_judged_dead_then_taken()
    {
        var h = new ClusterHarness(2);
        h.Connect();
        h.Run(TimeSpan.FromSeconds(1)); // both nodes beat and list each other
        SessionId sid = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        (WireGuardDevice c2, Peer p2, WireSender w2) = SecondClient(h, h["n2"]);
        Span<byte> frame = stackalloc byte[128];

        ReattachRejectFrame Ask(ulong seq)
        {
            Span<byte> f = stackalloc byte[128];
            int len = new ReattachRequestFrame(sid, seq, 1, ReasonCode.TransportDeadRecovery, 0, 0).Write(f);
            c2.SendControl(p2, f[..len]);
            Deliver(h["n2"].Device, w2.Drain().Single().Datagram, Addr("192.0.2.77", 7002), []);
            var sink = new FrameCollector();
            c2.Observer = sink;
            foreach ((byte[] d, _) in h["n2"].Wire.Drain())
            {
                Deliver(c2, d, h["n2"].Addr, []);
            }
            Assert.True(ReattachRejectFrame.TryParse(Assert.Single(sink.Frames), out ReattachRejectFrame reject));
            return reject;
        }

        // n1 is alive: refused, with the time until n1 would be judged dead (at most NodeTtl) + 20 ms.
        ReattachRejectFrame alive = Ask(50);
        Assert.Equal(ReasonCode.NotAuthoritativeOwner, alive.Reason);
        Assert.InRange(alive.RetryAfterMs, 20u, (uint)(NodeTtlMs + 20));
        Assert.Contains("\"event_type\":\"SESSION_OWNER_REJECTED\"", h["n2"].Events(), StringComparison.Ordinal);

        // n1 stops beating; after NodeTtl on n2's clock the same request takes the session.
        h["n1"].Down = true;
        h.Run(TimeSpan.FromMilliseconds(NodeTtlMs + 300));
        int n = new ReattachRequestFrame(sid, 51, 1, ReasonCode.TransportDeadRecovery, 0, 0).Write(frame);
        c2.SendControl(p2, frame[..n]);
        Deliver(h["n2"].Device, w2.Drain().Single().Datagram, Addr("192.0.2.77", 7002), []);
        OwnershipRecord rec = h.Store.Read(sid).Current!;
        Assert.Equal(("n2", 2UL), (rec.OwnerNode, rec.OwnerEpoch));
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
            // n1 stops and releases the session: the others may take it at once, no NodeTtl to wait.
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
    public void With_the_store_unavailable_nothing_commits_the_node_fences_after_its_last_beat_and_resumes_under_a_new_epoch()
    {
        var outage = new SwitchableStore(new InMemorySessionStore(new ManualTimeProvider()));
        var h = new ClusterHarness(1, outage);
        outage.Inner = new InMemorySessionStore(h.Clock);
        h.Connect();
        string id = Field(h["n1"].Jumping.FormatSessions(), "session_id");
        Assert.True(h.ClientPacketReachesANode());

        // The last beat that succeeded went out at most one beat period (50 ms) before the outage; the node is
        // valid until that send time + NodeTtl - fence margin (docs/cluster.md "Fence margin").
        ulong epochBefore = h["n1"].Cluster.NodeEpoch;
        outage.Down = true;
        h.Run(TimeSpan.FromMilliseconds(NodeTtlMs - ClusterCoordinator.FenceMarginMs - 300));
        Assert.True(h.ClientPacketReachesANode()); // still forwarding inside its validity
        h.Run(TimeSpan.FromMilliseconds(600));
        Assert.False(h.ClientPacketReachesANode()); // validity over: fail closed
        Assert.Contains("SESSION_FENCED", h["n1"].Events(), StringComparison.Ordinal);
        // The client rehandshakes at transport_dead; an initiation within RekeyTimeout of the last one waits for
        // WireGuard's limit, so its HELLO (refused STORE_UNAVAILABLE) may come up to 5 s later.
        h.Run(TimeSpan.FromSeconds(10));
        Assert.True(h.ClientEvents().Contains("\"reason_code\":\"STORE_UNAVAILABLE\"", StringComparison.Ordinal), h.ClientEvents() + "\n---\n" + h["n1"].Events());
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
        // Re-acquired by the node's new incarnation without waiting for anyone's NodeTtl.
        OwnershipRecord rec = outage.Inner.Read(Sid(id)).Current!;
        Assert.True(h["n1"].Cluster.NodeEpoch > epochBefore);
        Assert.Equal(("n1", h["n1"].Cluster.NodeEpoch, 2UL), (rec.OwnerNode, rec.OwnerNodeEpoch, rec.OwnerEpoch));
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

    /// <summary>The control frames a client device received, as bytes.</summary>
    private sealed class FrameCollector : IDeviceObserver
    {
        public List<byte[]> Frames { get; } = [];

        public void OnSessionKeysInstalled(Peer peer, bool weInitiated)
        {
        }

        public void OnUnboundSource(Peer peer, System.Net.SocketAddress from, ReadOnlySpan<byte> packet)
        {
        }

        public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, System.Net.SocketAddress from, IDatagramSender? arrivedVia) => Frames.Add(frame.ToArray());
    }

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
        public StoreResult Create(OwnershipRecord record) => Down ? StoreResult.Unavailable : Inner.Create(record);
        public StoreResult Read(SessionId id) => Down ? StoreResult.Unavailable : Inner.Read(id);
        public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs) => Down ? StoreResult.Unavailable : Inner.CompareAndSwap(expectedVersion, next, tombstoneMs);
        public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected) => Down ? StoreResult.Unavailable : Inner.Acquire(id, node, nodeEpoch, expected);
        public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch) => Down ? StoreResult.Unavailable : Inner.Release(id, node, nodeEpoch, epoch);
        public IReadOnlyList<OwnershipRecord> ListSessions() => Down ? [] : Inner.ListSessions();
        public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule) => Down ? null : Inner.Reap(rule);
        public ulong RegisterNode(string node) => Down ? 0 : Inner.RegisterNode(node);
        public bool Heartbeat(ClusterNodeInfo beat) => !Down && Inner.Heartbeat(beat);
        public IReadOnlyList<ClusterNodeInfo>? ListNodes() => Down ? null : Inner.ListNodes();
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
