using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Client;
using JumpingVpn.Control.Jumping.PathSwitching;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tests.Control.Jumping.Client;

/// <summary>
/// The client role alone (docs/design.md §2.2, docs/session-spec.md §1.8) on a manual clock: the server end is
/// played by hand with real encrypted frames from device B, and the role's sweep is driven every 50 ms.
/// </summary>
public sealed class ClientRoleTests
{
    private static readonly SessionId Id = Parse("00112233445566778899aabbccddeeff");

    private readonly RoleRig _rig = new();
    private readonly ClientRole _role;
    private readonly ClientSession _session;

    public ClientRoleTests()
    {
        _role = new ClientRole(_rig.ClientContext, [_rig.T.PeerBOnA], new PathSwitcher(_rig.ClientContext));
        Assert.True(_role.TryGet(_rig.T.PeerBOnA, out ClientSession? c));
        _session = c;
        _rig.AtClient.OnKeys = peer => _role.OnSessionKeysInstalled(_session);
        _rig.AtClient.OnFrame = (peer, frame, from, via) =>
        {
            Assert.True(ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _));
            _role.OnFrame(_session, type, frame, via, _rig.ClientContext.NowMs());
        };
    }

    private static SessionId Parse(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id));
        return id;
    }

    /// <summary>The server side answers every KEEPALIVE, as a jvpn server does.</summary>
    private void ServerAnswersKeepalives()
    {
        _rig.AtServer.OnFrame = (_, frame, _, _) =>
        {
            if (KeepaliveFrame.TryParse(frame, out KeepaliveFrame ka))
            {
                Span<byte> reply = stackalloc byte[64];
                int n = new KeepaliveAckFrame(ka.CtrlSeq, 0, ka.SendTimestampMs, 1).Write(reply);
                _rig.ServerSends(reply[..n]);
            }
        };
    }

    private void Attach()
    {
        _rig.Handshake();
        Span<byte> frame = stackalloc byte[256];
        int n = new HelloAckFrame(ControlFrame.ProtocolVersion, false, ControlCapabilities.None, 1, Id, 1, 1, default).Write(frame);
        _rig.ServerSends(frame[..n]);
        _rig.Pump();
        Assert.Equal(Id, _session.Id);
        Assert.Equal(SessionState.Attached, _session.State);
        Assert.True(_session.SessionLayerOn);
    }

    /// <summary>Runs the sweep every 50 ms for <paramref name="ms"/>, moving datagrams after each pass.</summary>
    private void Run(long ms, bool serverSilent = false)
    {
        for (long t = 0; t < ms; t += 50)
        {
            _rig.Advance(50);
            _role.Sweep(_rig.ClientContext.NowMs());
            _rig.Pump(dropFromClient: serverSilent);
        }
    }

    [Fact]
    public void Hello_goes_out_after_the_keys_are_installed_and_the_ack_turns_the_session_layer_on()
    {
        Assert.Empty(_rig.AtServer.Frames);
        _rig.Handshake();

        Assert.Equal(1, _rig.AtClient.KeysInstalled);
        Assert.True(HelloFrame.TryParse(Assert.Single(_rig.AtServer.Of(ControlFrameType.Hello)), out HelloFrame hello));
        Assert.False(hello.IsResume);
        Assert.Equal((uint)_rig.Policy.IdleKeepaliveIntervalMs, hello.IdleKeepaliveMs);
        Assert.False(_session.SessionLayerOn);

        Span<byte> frame = stackalloc byte[256];
        int n = new HelloAckFrame(ControlFrame.ProtocolVersion, false, ControlCapabilities.None, hello.CtrlSeq, Id, 1, 1, default).Write(frame);
        _rig.ServerSends(frame[..n]);
        _rig.Pump();
        Assert.True(_session.SessionLayerOn);
        Assert.Equal(Id, _session.Id);
        Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "SESSION_ESTABLISHED"));
    }

    [Fact]
    public void Unanswered_hellos_are_retried_and_then_the_peer_is_left_as_plain_wireguard()
    {
        _rig.AtServer.OnFrame = null; // a plain WireGuard server: HELLO is never answered
        _rig.Handshake();
        Run(8_000);

        Assert.Equal(5, _rig.AtServer.Of(ControlFrameType.Hello).Count);
        Assert.False(_session.SessionLayerOn);
        Assert.Empty(_rig.AtServer.Of(ControlFrameType.Keepalive));
    }

    [Fact]
    public void An_idle_session_sends_keepalives_with_gaps_growing_to_the_idle_interval()
    {
        ServerAnswersKeepalives();
        Attach();
        var sentAt = new List<long>();
        int seen = 0;
        for (long t = 0; t < 60_000; t += 50)
        {
            _rig.Advance(50);
            _role.Sweep(_rig.ClientContext.NowMs());
            _rig.Pump();
            int now = _rig.AtServer.Of(ControlFrameType.Keepalive).Count;
            for (; seen < now; seen++)
            {
                sentAt.Add(t);
            }
        }

        long[] gaps = [.. sentAt.Zip(sentAt.Skip(1), (a, b) => b - a)];
        Assert.True(gaps.Length >= 5);
        Assert.Equal(_rig.Policy.HeartbeatIntervalMs, gaps[0]);
        for (int i = 1; i < gaps.Length; i++)
        {
            Assert.True(gaps[i] >= gaps[i - 1], $"gap {i} shrank: {string.Join(", ", gaps)}");
        }
        Assert.Equal(_rig.Policy.IdleKeepaliveIntervalMs, gaps[^1]);
        Assert.Empty(RoleRig.LinesOf(_rig.ClientContext.Audit, "TRANSPORT_DEAD"));
    }

    [Fact]
    public void A_rebind_hint_is_answered_with_reattach_retried_with_backoff_until_acked()
    {
        ServerAnswersKeepalives();
        Attach();
        Span<byte> frame = stackalloc byte[128];
        int n = new RebindHintFrame(Id, 1).Write(frame);
        _rig.ServerSends(frame[..n]);
        var reattachAt = new List<long>();
        _rig.Pump();
        reattachAt.Add(0);
        int seen = 1;
        for (long t = 50; t <= 7_000; t += 50)
        {
            _rig.Advance(50);
            _role.Sweep(_rig.ClientContext.NowMs());
            _rig.Pump();
            int now = _rig.AtServer.Of(ControlFrameType.ReattachRequest).Count;
            for (; seen < now; seen++)
            {
                reattachAt.Add(t);
            }
        }
        // docs/session-spec.md §1.8: 200, 400, 800, 1600 ms, then capped at 2 s.
        Assert.Equal([0L, 200, 600, 1400, 3000, 5000, 7000], reattachAt);
        Assert.All(_rig.AtServer.Of(ControlFrameType.ReattachRequest), f =>
        {
            Assert.True(ReattachRequestFrame.TryParse(f, out ReattachRequestFrame req));
            Assert.Equal(Id, req.SessionId);
            Assert.Equal(ReasonCode.NatRebind, req.SwitchReason);
        });

        n = new ReattachAckFrame(Id, 0, 2, 2, ReasonCode.ReattachSuccess).Write(frame);
        _rig.ServerSends(frame[..n]);
        _rig.Pump();
        Run(5_000);
        Assert.Equal(7, _rig.AtServer.Of(ControlFrameType.ReattachRequest).Count);
        Assert.Equal(1, _session.Switches);
        Assert.Equal(2UL, _session.LastAckedVersion);
        Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "REATTACH_RESULT"));
    }

    [Fact]
    public void A_silent_server_makes_the_client_fail_over_to_the_next_endpoint()
    {
        SocketAddress second = RoleRig.Address("192.0.2.9", 1009);
        _role.Failover.UseServerEndpoints(_rig.T.PeerBOnA,
            [EndpointCodec.ToIPEndPoint(_rig.T.AddrB), EndpointCodec.ToIPEndPoint(second)], dualMode: false);
        ServerAnswersKeepalives();
        Attach();
        Run(1_000);
        Assert.Empty(RoleRig.LinesOf(_rig.ClientContext.Audit, "SERVER_FAILOVER"));

        _rig.AtServer.OnFrame = null;
        Run(_rig.Policy.TransportDeadMs + 1_000, serverSilent: true);

        string line = Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "SERVER_FAILOVER"));
        Assert.Contains("\"new_endpoint\":\"192.0.2.9:1009\"", line, StringComparison.Ordinal);
        Assert.Equal("192.0.2.9:1009", EndpointCodec.ToIPEndPoint(_rig.T.PeerBOnA.Endpoint!).ToString());
        Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "TRANSPORT_DEAD"));
        Assert.Equal(SessionState.Recovering, _session.State);
    }

    [Fact]
    public void A_node_that_cannot_serve_the_session_yet_keeps_the_layer_on_and_is_retried_after_its_time()
    {
        ServerAnswersKeepalives();
        Attach();
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachRejectFrame(Id, 5, 1, ReasonCode.StoreUnavailable, 700).Write(frame);
        _rig.ServerSends(frame[..n]);
        _rig.Pump();
        Assert.Equal(SessionState.Recovering, _session.State);
        Assert.True(_session.SessionLayerOn);

        Run(650);
        Assert.Empty(_rig.AtServer.Of(ControlFrameType.ReattachRequest));
        Run(100);
        Assert.Single(_rig.AtServer.Of(ControlFrameType.ReattachRequest));
    }

    [Fact]
    public void Terminate_all_ends_an_attached_session_with_client_terminated()
    {
        Attach();
        _role.TerminateAll();
        _rig.Pump();
        Assert.True(TerminateFrame.TryParse(Assert.Single(_rig.AtServer.Of(ControlFrameType.Terminate)), out TerminateFrame t));
        Assert.Equal(ReasonCode.ClientTerminated, t.Reason);
        Assert.Equal(SessionState.Terminated, _session.State);
    }
}
