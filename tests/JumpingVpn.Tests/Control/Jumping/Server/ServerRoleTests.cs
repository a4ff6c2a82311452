using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Tunnel.Device;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tests.Control.Jumping.Server;

/// <summary>
/// The server role alone (docs/design.md §2.2-§3) on a manual clock: the client end is played by hand with
/// real encrypted frames from device A, so every answer the role sends is observed as A receives it.
/// </summary>
public sealed class ServerRoleTests
{
    private readonly RoleRig _rig = new();
    private readonly ServerSessionTable _table;
    private readonly ServerRole _role;

    public ServerRoleTests()
    {
        _table = new ServerSessionTable(_rig.ServerContext);
        _role = _rig.AttachServerRole(_table, 3);
        _rig.Handshake();
    }

    private static readonly SocketAddress Natted = RoleRig.Address("203.0.113.5", 40001);

    private HelloAckFrame Hello(uint idleKeepaliveMs = 0, SessionId resume = default, ulong lastAcked = 0)
    {
        Span<byte> frame = stackalloc byte[128];
        int n = new HelloFrame(ControlFrame.ProtocolVersion, ControlCapabilities.None, 1, resume, lastAcked, 0) { IdleKeepaliveMs = idleKeepaliveMs }.Write(frame);
        _rig.ClientSends(frame[..n]);
        _rig.Pump();
        Assert.True(HelloAckFrame.TryParse(_rig.AtClient.Of(ControlFrameType.HelloAck).Last(), out HelloAckFrame ack));
        return ack;
    }

    private ServerSession Session()
    {
        Assert.True(_table.TryGet(_rig.T.PeerAOnB, out ServerSession? s));
        return s;
    }

    [Fact]
    public void Hello_creates_an_attached_session_pins_the_binding_and_is_answered_with_its_id()
    {
        HelloAckFrame ack = Hello();

        ServerSession s = Session();
        SessionSnapshot snap = s.Slot.Snapshot();
        Assert.Equal(SessionState.Attached, snap.State);
        Assert.Equal(1UL, snap.StateVersion);
        Assert.Equal(ack.SessionId, s.Slot.Id);
        Assert.Equal(1UL, ack.StateVersion);
        Assert.Equal("192.0.2.1:1001", snap.Binding!.Value.ToString());
        Assert.False(_rig.T.PeerAOnB.AllowRoaming);
        Assert.Equal(1, _table.Live);
        Assert.True(_role.TryFindSession(ack.SessionId, out SessionSnapshot found));
        Assert.Equal(snap.StateVersion, found.StateVersion);
    }

    [Fact]
    public void A_resuming_hello_keeps_the_session_and_a_fresh_one_replaces_it()
    {
        HelloAckFrame first = Hello();
        HelloAckFrame resumed = Hello(resume: first.SessionId, lastAcked: first.StateVersion);
        Assert.Equal(first.SessionId, resumed.SessionId);
        Assert.True(resumed.Resumed);

        HelloAckFrame fresh = Hello();
        Assert.NotEqual(first.SessionId, fresh.SessionId);
        Assert.False(_role.TryFindSession(first.SessionId, out _));
        Assert.Equal(1, _table.Live); // the replaced session stopped counting
    }

    [Fact]
    public void A_valid_reattach_moves_the_binding_and_one_for_another_session_does_not()
    {
        HelloAckFrame ack = Hello();
        Span<byte> frame = stackalloc byte[128];

        Assert.True(SessionId.TryParse("0123456789abcdef0123456789abcdef", out SessionId unknown));
        int n = new ReattachRequestFrame(unknown, 2, 1, ReasonCode.NatRebind, 0, 0).Write(frame);
        _rig.ClientSends(frame[..n]);
        _rig.Pump(fromClient: Natted);
        Assert.True(ReattachRejectFrame.TryParse(_rig.AtClient.Of(ControlFrameType.ReattachReject).Single(), out ReattachRejectFrame rej));
        Assert.Equal(ReasonCode.SessionNotFound, rej.Reason);
        Assert.Equal("192.0.2.1:1001", Session().Slot.Snapshot().Binding!.Value.ToString());
        Assert.Equal("192.0.2.1:1001", EndpointCodec.ToIPEndPoint(_rig.T.PeerAOnB.Endpoint!).ToString());

        n = new ReattachRequestFrame(ack.SessionId, 3, ack.StateVersion, ReasonCode.NatRebind, 0, 0).Write(frame);
        _rig.ClientSends(frame[..n]);
        _rig.Pump(fromClient: Natted);
        Assert.True(ReattachAckFrame.TryParse(_rig.AtClient.Of(ControlFrameType.ReattachAck).Single(), out ReattachAckFrame rack));
        Assert.Equal(2UL, rack.NewStateVersion);
        Assert.Equal("203.0.113.5:40001", Session().Slot.Snapshot().Binding!.Value.ToString());
        Assert.Equal("203.0.113.5:40001", EndpointCodec.ToIPEndPoint(_rig.T.PeerAOnB.Endpoint!).ToString());
    }

    [Fact]
    public void Traffic_from_an_unbound_source_earns_a_rate_limited_rebind_hint_and_never_moves_the_binding()
    {
        HelloAckFrame ack = Hello();
        _rig.AtClient.Clear();

        for (int i = 0; i < 20; i++)
        {
            (_, byte[]? data) = TwoDevices.Encapsulate(_rig.T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 20));
            RoleRig.Deliver(_rig.T.B, data!, Natted);
        }
        _rig.Pump(dropFromClient: true);
        Assert.True(RebindHintFrame.TryParse(Assert.Single(_rig.AtClient.Of(ControlFrameType.RebindHint)), out RebindHintFrame hint));
        Assert.Equal(ack.SessionId, hint.SessionId);
        Assert.Equal("192.0.2.1:1001", Session().Slot.Snapshot().Binding!.Value.ToString());
        Assert.Single(RoleRig.LinesOf(_rig.ServerContext.Audit, "REBIND_HINT_SENT"));

        // After rebind_hint_interval the same source is hinted again.
        _rig.Advance(_rig.Policy.RebindHintIntervalMs + 1);
        (_, byte[]? again) = TwoDevices.Encapsulate(_rig.T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 20));
        RoleRig.Deliver(_rig.T.B, again!, Natted);
        _rig.Pump(dropFromClient: true);
        Assert.Equal(2, _rig.AtClient.Of(ControlFrameType.RebindHint).Count);
    }

    [Fact]
    public void A_client_silent_for_transport_dead_loses_its_binding_at_the_sweep()
    {
        Hello(); // announces no idle interval: plain transport_dead
        var audit = new List<AuditEvent>();

        _rig.Advance(_rig.Policy.TransportDeadMs - 100);
        _role.Sweep(_rig.ServerContext.NowMs(), audit);
        Assert.Equal(SessionState.Attached, Session().Slot.Snapshot().State);

        _rig.Advance(200);
        _role.Sweep(_rig.ServerContext.NowMs(), audit);
        SessionSnapshot snap = Session().Slot.Snapshot();
        Assert.Equal(SessionState.Recovering, snap.State);
        Assert.Null(snap.Binding);
        Assert.Contains("TRANSPORT_DEAD", RoleRig.Lines(_rig.ServerContext.Audit), StringComparison.Ordinal);
    }

    [Fact]
    public void The_idle_interval_announced_in_hello_extends_the_silence_allowed()
    {
        Hello(idleKeepaliveMs: 12_000);
        var audit = new List<AuditEvent>();

        _rig.Advance(_rig.Policy.TransportDeadMs + 100);
        _role.Sweep(_rig.ServerContext.NowMs(), audit);
        Assert.Equal(SessionState.Attached, Session().Slot.Snapshot().State);

        _rig.Advance(12_000);
        _role.Sweep(_rig.ServerContext.NowMs(), audit);
        Assert.Equal(SessionState.Recovering, Session().Slot.Snapshot().State);
    }

    [Fact]
    public void Keepalives_are_answered_and_keep_a_session_alive_past_transport_dead()
    {
        Hello();
        var audit = new List<AuditEvent>();
        Span<byte> frame = stackalloc byte[64];
        for (int i = 0; i < 20; i++)
        {
            _rig.Advance(500);
            int n = new KeepaliveFrame((ulong)(10 + i), 0, 0, 1).Write(frame);
            _rig.ClientSends(frame[..n]);
            _rig.Pump();
            _role.Sweep(_rig.ServerContext.NowMs(), audit);
        }
        Assert.Equal(20, _rig.AtClient.Of(ControlFrameType.KeepaliveAck).Count);
        Assert.Equal(SessionState.Attached, Session().Slot.Snapshot().State);
    }
}
