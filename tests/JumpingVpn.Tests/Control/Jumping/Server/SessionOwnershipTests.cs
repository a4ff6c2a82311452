using System.Net;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping.Server;

/// <summary>
/// The server role's ownership strategy (docs/design.md §6, docs/session-spec.md §5.2.3): a single node owns what
/// it creates; a cluster node owns a session only through the store and only while its incarnation is valid
/// (docs/cluster.md "Node liveness").
/// The same role and frames run against <see cref="SingleNodeOwnership"/>, <see cref="ClusterOwnership"/> over
/// an in-memory store, and a strategy that refuses everything.
/// </summary>
public sealed class SessionOwnershipTests
{
    private const long NodeTtlMs = 1_000;
    private static readonly SocketAddress Natted = RoleRig.Address("203.0.113.5", 40001);
    private static readonly IpPrefix Inner = IpPrefix.Parse("10.0.0.1/32");

    private readonly RoleRig _rig = new();
    private readonly ServerSessionTable _table;
    private readonly ServerRole _role;

    public SessionOwnershipTests()
    {
        _table = new ServerSessionTable(_rig.ServerContext);
        _role = _rig.AttachServerRole(_table, 5);
        _rig.Handshake();
    }

    private (ClusterOwnership Ownership, InMemorySessionStore Store, ClusterCoordinator Coordinator) UseCluster()
    {
        var store = new InMemorySessionStore(_rig.T.Clock);
        var coordinator = new ClusterCoordinator(store, "n1", NodeTtlMs, NullLogger.Instance, _rig.T.Clock) { Dispatch = static w => w() };
        coordinator.Tick(); // registered, first beat answered: valid
        var ownership = new ClusterOwnership(_rig.ServerContext, _table, coordinator,
            new Dictionary<Peer, IReadOnlyList<IpPrefix>> { [_rig.T.PeerAOnB] = [Inner] }, hooks: null);
        ownership.UnrouteServerPeers(_ => false);
        _role.Ownership = ownership;
        return (ownership, store, coordinator);
    }

    private byte[] Answer(ControlFrameType type) => _rig.AtClient.Of(type).Last();

    private void Hello()
    {
        Span<byte> frame = stackalloc byte[128];
        int n = new HelloFrame(ControlFrame.ProtocolVersion, ControlCapabilities.None, 1, SessionId.None, 0, 0).Write(frame);
        _rig.ClientSends(frame[..n]);
        _rig.Pump();
    }

    private void Reattach(SessionId id, ulong seq, ulong lastAcked)
    {
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachRequestFrame(id, seq, lastAcked, ReasonCode.NatRebind, 0, 0).Write(frame);
        _rig.ClientSends(frame[..n]);
        _rig.Pump(fromClient: Natted);
    }

    private bool Routed() => _rig.T.B.AllowedIps.Lookup(IPAddress.Parse("10.0.0.1").GetAddressBytes()) == _rig.T.PeerAOnB;

    [Fact]
    public void A_single_node_owns_the_sessions_it_creates_and_never_refuses_a_transition()
    {
        Assert.Same(SingleNodeOwnership.Instance, _role.Ownership);
        Hello();
        Assert.True(HelloAckFrame.TryParse(Answer(ControlFrameType.HelloAck), out HelloAckFrame ack));

        _rig.Advance(NodeTtlMs * 30); // no heartbeat to miss
        _role.Sweep(_rig.ServerContext.NowMs(), []);
        Assert.True(_table.TryGet(_rig.T.PeerAOnB, out _));
        Reattach(ack.SessionId, 2, ack.StateVersion);
        Assert.True(ReattachAckFrame.TryParse(Answer(ControlFrameType.ReattachAck), out _));
        Assert.True(Routed());
    }

    [Fact]
    public void A_cluster_node_writes_the_new_session_to_the_store_and_routes_the_peer_only_while_it_owns_it()
    {
        (_, InMemorySessionStore store, ClusterCoordinator coordinator) = UseCluster();
        Assert.False(Routed()); // fail closed before any session

        Hello();
        Assert.True(HelloAckFrame.TryParse(Answer(ControlFrameType.HelloAck), out HelloAckFrame ack));
        StoreResult record = store.Read(ack.SessionId);
        Assert.True(record.IsOk);
        Assert.Equal("n1", record.Current!.OwnerNode);
        Assert.Equal(1UL, record.Current.OwnerEpoch);
        Assert.Equal(Convert.ToBase64String(_rig.T.PeerAOnB.PublicKey), record.Current.PeerKey);
        Assert.True(coordinator.TryGetOwned(ack.SessionId, out _));
        Assert.Equal(coordinator.NodeEpoch, record.Current.OwnerNodeEpoch);
        Assert.True(Routed());
        Assert.Single(RoleRig.LinesOf(_rig.ServerContext.Audit, "SESSION_OWNER_ACQUIRED"));

        // A committed transition goes through the store: the reattach's new version is the store's too.
        Reattach(ack.SessionId, 2, ack.StateVersion);
        Assert.True(ReattachAckFrame.TryParse(Answer(ControlFrameType.ReattachAck), out ReattachAckFrame rack));
        Assert.Equal(rack.NewStateVersion, store.Read(ack.SessionId).Current!.StateVersion);
    }

    [Fact]
    public void A_cluster_node_whose_heartbeats_stopped_succeeding_fences_the_session_and_stops_answering_for_it()
    {
        UseCluster();
        Hello();
        Assert.True(HelloAckFrame.TryParse(Answer(ControlFrameType.HelloAck), out HelloAckFrame ack));

        _rig.Advance(NodeTtlMs - ClusterCoordinator.FenceMarginMs); // no further beat: validity ends here
        _role.Sweep(_rig.ServerContext.NowMs(), []);

        Assert.False(_table.TryGet(_rig.T.PeerAOnB, out _));
        Assert.False(Routed());
        string fenced = Assert.Single(RoleRig.LinesOf(_rig.ServerContext.Audit, "SESSION_FENCED"));
        Assert.Contains("\"detail_code\":\"NODE_FENCED\"", fenced, StringComparison.Ordinal);

        _rig.AtClient.Clear();
        Span<byte> frame = stackalloc byte[64];
        int n = new KeepaliveFrame(9, 0, 0, ack.StateVersion).Write(frame);
        _rig.ClientSends(frame[..n]);
        _rig.Pump();
        Assert.Empty(_rig.AtClient.Frames); // a fenced node goes silent
    }

    [Fact]
    public void The_role_asks_its_strategy_before_creating_or_changing_a_session()
    {
        var refusing = new RefusingOwnership();
        Hello();
        Assert.True(HelloAckFrame.TryParse(Answer(ControlFrameType.HelloAck), out HelloAckFrame ack));
        _role.Ownership = refusing;

        Reattach(ack.SessionId, 2, ack.StateVersion);
        Assert.True(ReattachRejectFrame.TryParse(Answer(ControlFrameType.ReattachReject), out ReattachRejectFrame rej));
        Assert.Equal(ReasonCode.NotAuthoritativeOwner, rej.Reason);
        Assert.Equal("192.0.2.1:1001", EndpointCodec.ToIPEndPoint(_rig.T.PeerAOnB.Endpoint!).ToString());

        Hello(); // a fresh session the strategy does not let exist
        Assert.True(TerminateFrame.TryParse(Answer(ControlFrameType.Terminate), out TerminateFrame refused));
        Assert.Equal(ReasonCode.StoreUnavailable, refused.Reason);
        Assert.True(refusing.Creates > 0);
        Assert.True(refusing.Applies > 0);

        _role.Sweep(_rig.ServerContext.NowMs(), []);
        Assert.Equal(1, refusing.Sweeps);
    }

    /// <summary>An ownership strategy that lets nothing change: proves which decisions the role delegates.</summary>
    private sealed class RefusingOwnership : ISessionOwnership
    {
        public int Applies { get; private set; }

        public int Creates { get; private set; }

        public int Sweeps { get; private set; }

        public SessionOutcome Apply(ServerSession s, in SessionEvent e, long now, List<AuditEvent> audit)
        {
            Applies++;
            return new SessionOutcome(SessionOutcomeKind.Rejected, ReasonCode.NotAuthoritativeOwner, s.Slot.Snapshot().StateVersion, 0, 0);
        }

        public bool Admit(Peer peer, ref ServerSession? s, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now, List<AuditEvent> audit) => true;

        public bool TryCreate(Peer peer, ServerSession? replaced, SessionSlot slot)
        {
            Creates++;
            return false;
        }

        public void Sweep(long now) => Sweeps++;
    }
}
