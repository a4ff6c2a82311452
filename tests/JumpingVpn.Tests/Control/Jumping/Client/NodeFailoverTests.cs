using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Client;
using JumpingVpn.Control.Jumping.PathSwitching;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Tunnel.Device;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Tests.Control.Jumping.Client;

/// <summary>
/// The client leaving a cluster node (docs/cluster.md "Client failover", "Drain") on a manual clock: at path_dead
/// when every path is silent with traffic outstanding, never while the node answers (idle or lossy), and at
/// once on SESSION_MOVE, only ever to a configured endpoint. The server is device B played by hand.
/// </summary>
public sealed class NodeFailoverTests
{
    private static readonly SessionId Id = Parse("00112233445566778899aabbccddeeff");
    private static readonly IPEndPoint Second = new(IPAddress.Parse("192.0.2.9"), 1009);
    private static readonly IPEndPoint Third = new(IPAddress.Parse("192.0.2.10"), 1010);

    private readonly RoleRig _rig = new();
    private readonly ClientRole _role;
    private readonly ClientSession _session;
    private readonly List<string> _sentAfterMove = [];
    private bool _answerKeepalives = true;

    public NodeFailoverTests()
    {
        _role = new ClientRole(_rig.ClientContext, [_rig.T.PeerBOnA], new PathSwitcher(_rig.ClientContext));
        Assert.True(_role.TryGet(_rig.T.PeerBOnA, out ClientSession? c));
        _session = c;
        _rig.AtClient.OnKeys = peer => _role.OnSessionKeysInstalled(_session);
        _rig.AtClient.OnFrame = (peer, frame, from, via) =>
        {
            Assert.True(ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _));
            _role.OnFrame(_session, type, frame, via, _rig.ClientContext.NowMs(), from);
        };
        _rig.AtServer.OnFrame = (_, frame, _, _) =>
        {
            if (_answerKeepalives && KeepaliveFrame.TryParse(frame, out KeepaliveFrame ka))
            {
                Span<byte> reply = stackalloc byte[64];
                int n = new KeepaliveAckFrame(ka.CtrlSeq, 0, ka.SendTimestampMs, 1).Write(reply);
                _rig.ServerSends(reply[..n]);
            }
        };
    }

    private static SessionId Parse(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id));
        return id;
    }

    private void UseNodes(params IPEndPoint[] more) =>
        _role.Failover.UseServerEndpoints(_rig.T.PeerBOnA, [EndpointCodec.ToIPEndPoint(_rig.T.AddrB), .. more], dualMode: false);

    private void Attach()
    {
        _rig.Handshake();
        Span<byte> frame = stackalloc byte[256];
        int n = new HelloAckFrame(ControlFrame.ProtocolVersion, false, ControlCapabilities.None, 1, Id, 1, 1, default).Write(frame);
        _rig.ServerSends(frame[..n]);
        _rig.Pump();
        Assert.Equal(SessionState.Attached, _session.State);
    }

    /// <summary>
    /// One 50 ms tick: the client sends a data packet (a ping) when <paramref name="traffic"/>; the server
    /// gets it unless <paramref name="silent"/>, and echoes it back when <paramref name="echo"/>.
    /// </summary>
    private void Tick(bool traffic, bool silent, bool echo = true)
    {
        _rig.Advance(50);
        if (traffic)
        {
            (SendResult r, byte[]? d) = TwoDevices.Encapsulate(_rig.T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 56));
            Assert.Equal(SendResult.Send, r);
            if (!silent)
            {
                RoleRig.Deliver(_rig.T.B, d!, _rig.T.AddrA);
                if (echo)
                {
                    (_, byte[]? back) = TwoDevices.Encapsulate(_rig.T.B, TwoDevices.Ipv4Packet("10.0.0.2", "10.0.0.1", 56));
                    RoleRig.Deliver(_rig.T.A, back!, _rig.T.AddrB);
                }
            }
        }
        _role.Sweep(_rig.ClientContext.NowMs());
        _rig.Pump(dropFromClient: silent);
    }

    private string[] Failovers() => RoleRig.LinesOf(_rig.ClientContext.Audit, "SERVER_FAILOVER");

    private string CurrentEndpoint => EndpointCodec.ToIPEndPoint(_rig.T.PeerBOnA.Endpoint!).ToString();

    /// <summary>The node a SESSION_MOVE sends the client to: its handshakes go there while its data still uses
    /// <see cref="CurrentEndpoint"/> (make-before-break, docs/cluster.md "Drain").</summary>
    private string MovingTo => EndpointCodec.ToIPEndPoint(_rig.T.PeerBOnA.HandshakeEndpoint ?? _rig.T.PeerBOnA.Endpoint!).ToString();

    [Fact]
    public void Silence_with_traffic_outstanding_moves_to_the_next_node_at_the_fast_verdict_within_one_tick()
    {
        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false); // 5 s of answered pings: past WireGuard's initiation limit too
        }
        Assert.Empty(Failovers());

        long silentFrom = _rig.NowMs + 50; // the first unanswered ping leaves on the next tick
        long movedAt = -1;
        for (int i = 0; i < 60 && movedAt < 0; i++)
        {
            Tick(traffic: true, silent: true);
            if (Failovers().Length > 0)
            {
                movedAt = _rig.NowMs;
            }
        }

        Assert.True(movedAt > 0, "no failover within 3 s of silence");
        Assert.InRange(movedAt - silentFrom, NodeSilence.FastVerdictMs, NodeSilence.FastVerdictMs + 50);
        Assert.True(NodeSilence.FastVerdictMs < _rig.Policy.PathDeadMs);
        string line = Assert.Single(Failovers());
        Assert.Contains("\"detail_code\":\"PATH_DEAD\"", line, StringComparison.Ordinal);
        Assert.Equal(Second.ToString(), CurrentEndpoint);
        Assert.Empty(RoleRig.LinesOf(_rig.ClientContext.Audit, "TRANSPORT_DEAD"));
        Assert.Equal(SessionState.Recovering, _session.State);
    }

    [Fact]
    public void A_node_that_stays_silent_is_left_for_the_next_one_path_dead_later()
    {
        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        for (int i = 0; i < 50; i++)
        {
            Tick(traffic: true, silent: true); // 2.5 s: the second node does not answer either
        }
        Assert.True(Failovers().Length >= 2, string.Join("\n", Failovers()));
        Assert.Contains($"\"new_endpoint\":\"{Third}\"", Failovers()[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_that_answered_since_the_move_is_left_only_after_the_settling_verdict()
    {
        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        for (int i = 0; i < 20 && Failovers().Length == 0; i++)
        {
            Tick(traffic: true, silent: true);
        }
        Assert.Single(Failovers());
        for (int i = 0; i < 40; i++)
        {
            Tick(traffic: true, silent: false); // the new node answers: handshake, traffic
        }
        Assert.Single(Failovers());

        // Now it falls silent (busy taking over other sessions): not left at the fast verdict, but after
        // path_dead doubled once (one move in this run), and no earlier.
        long silentFrom = _rig.NowMs + 50;
        long movedAt = -1;
        for (int i = 0; i < 100 && movedAt < 0; i++)
        {
            Tick(traffic: true, silent: true);
            if (Failovers().Length > 1)
            {
                movedAt = _rig.NowMs;
            }
        }
        Assert.True(movedAt > 0, "never left the silent node");
        long settling = NodeSilence.SettlingVerdictMs(-1, _rig.Policy.PathDeadMs, _rig.Policy.TransportDeadMs, 1);
        Assert.Equal(2 * _rig.Policy.PathDeadMs, settling);
        Assert.InRange(movedAt - silentFrom, settling, settling + 50);
        Assert.Contains($"\"new_endpoint\":\"{Third}\"", Failovers()[1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_settling_verdict_grows_per_move_of_a_run_and_ends_with_the_run()
    {
        Assert.Equal(NodeSilence.FastVerdictMs, NodeSilence.SettlingVerdictMs(-1, 1000, 4000, 0));
        Assert.Equal(2000, NodeSilence.SettlingVerdictMs(-1, 1000, 4000, 1));
        Assert.Equal(4000, NodeSilence.SettlingVerdictMs(-1, 1000, 4000, 2));
        Assert.Equal(4000, NodeSilence.SettlingVerdictMs(-1, 1000, 4000, 9)); // transport_dead bounds it
        Assert.Equal(1000, NodeSilence.SettlingVerdictMs(400, 1000, 1000, 1)); // a short transport_dead too
        Assert.Equal([100L, 200L, 400L, 400L], new[] { 0, 1, 2, 5 }.Select(NodeSilence.ProbeEveryMsFor).ToArray());
        Assert.Equal(1, NodeSilence.CountMove(0, -1, 5_000));
        Assert.Equal(2, NodeSilence.CountMove(1, 5_000, 6_000));
        Assert.Equal(1, NodeSilence.CountMove(2, 5_000, 5_000 + NodeSilence.SettleMs)); // a new run
        // Settling counts from the new node's first answer, however long the resume took.
        Assert.Equal(2, NodeSilence.RecentMoves(2, 30_000, 30_000 + NodeSilence.SettleMs - 1));
        Assert.Equal(0, NodeSilence.RecentMoves(2, -1, 6_000)); // a node that never answered since the move
        Assert.Equal(0, NodeSilence.RecentMoves(2, 5_000, 5_000 + NodeSilence.SettleMs));
    }

    [Fact]
    public void An_idle_session_whose_node_answers_never_moves()
    {
        UseNodes(Second);
        Attach();
        for (int i = 0; i < 400; i++)
        {
            Tick(traffic: false, silent: false); // 20 s idle: only keepalives, all answered
        }
        Assert.Empty(Failovers());
        Assert.Equal(SessionState.Attached, _session.State);
    }

    [Fact]
    public void A_lossy_but_answering_path_does_not_rotate_nodes()
    {
        UseNodes(Second);
        Attach();
        for (int i = 0; i < 400; i++)
        {
            // Two of every three pings are lost on the way, 20 s long: replies still arrive every 150 ms.
            Tick(traffic: true, silent: false, echo: i % 3 == 0);
        }
        Assert.Empty(Failovers());
        Assert.Equal(SessionState.Attached, _session.State);
    }

    [Fact]
    public void A_one_way_upload_the_node_does_not_answer_does_not_rotate_nodes_while_keepalives_are_answered()
    {
        UseNodes(Second);
        Attach();
        for (int i = 0; i < 200; i++)
        {
            Tick(traffic: true, silent: false, echo: false);
        }
        Assert.Empty(Failovers());
    }

    [Fact]
    public void A_client_with_one_node_keeps_waiting_for_transport_dead()
    {
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        for (int i = 0; i < 40; i++)
        {
            Tick(traffic: true, silent: true);
        }
        Assert.Empty(Failovers());
        Assert.Empty(RoleRig.LinesOf(_rig.ClientContext.Audit, "TRANSPORT_DEAD"));
        for (int i = 0; i < 60; i++)
        {
            Tick(traffic: true, silent: true);
        }
        Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "TRANSPORT_DEAD"));
        Assert.Empty(Failovers());
    }

    [Fact]
    public void Not_authoritative_owner_is_retried_at_least_every_100_ms_whatever_the_named_time()
    {
        UseNodes(Second);
        Attach();
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachRejectFrame(Id, 5, 1, ReasonCode.NotAuthoritativeOwner, 9_000).Write(frame);
        _rig.ServerSends(frame[..n]);
        _rig.Pump();
        _answerKeepalives = false;
        Tick(traffic: false, silent: false);
        Assert.Empty(_rig.AtServer.Of(ControlFrameType.ReattachRequest));
        Tick(traffic: false, silent: false);
        Assert.Single(_rig.AtServer.Of(ControlFrameType.ReattachRequest));
        Assert.Equal(ServerFailover.MaxOwnerRetryMs, 100);
    }

    [Theory]
    [InlineData(5u, 20L)]
    [InlineData(60u, 60L)]
    [InlineData(9_000u, 100L)]
    [InlineData(0u, 20L)]
    public void Not_authoritative_owner_is_retried_after_the_named_time_between_20_and_100_ms(uint namedMs, long expectedMs)
    {
        var rej = new ReattachRejectFrame(Id, 5, 1, ReasonCode.NotAuthoritativeOwner, namedMs);
        Assert.Equal(expectedMs, ServerFailover.RetryAfterMs(rej));
        // Other refusals keep their floor of 100 ms.
        Assert.Equal(Math.Max(100L, namedMs), ServerFailover.RetryAfterMs(new ReattachRejectFrame(Id, 5, 1, ReasonCode.StoreUnavailable, namedMs)));
    }

    [Fact]
    public void A_silent_node_is_probed_every_100_ms_from_300_ms_of_waiting_until_the_verdict()
    {
        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        // The node receives everything but answers nothing (neither data nor KEEPALIVE): silent to the client.
        _answerKeepalives = false;
        _rig.AtServer.Clear();
        long silentFrom = _rig.NowMs + 50;
        var probes = new List<long>();
        while (Failovers().Length == 0)
        {
            int before = _rig.AtServer.Of(ControlFrameType.Keepalive).Count;
            Tick(traffic: true, silent: false, echo: false);
            if (_rig.AtServer.Of(ControlFrameType.Keepalive).Count > before)
            {
                probes.Add(_rig.NowMs - silentFrom);
            }
            Assert.True(_rig.NowMs - silentFrom < 2_000, "no verdict within 2 s");
        }
        // Before 300 ms nothing but data; then a KEEPALIVE every 100 ms; the verdict at 600 ms (+ one tick).
        Assert.Equal([300L, 400L, 500L], probes.Where(p => p < NodeSilence.FastVerdictMs).ToArray());
        Assert.InRange(_rig.NowMs - silentFrom, NodeSilence.FastVerdictMs, NodeSilence.FastVerdictMs + 50);
    }

    [Fact]
    public void A_node_that_stalls_for_less_than_the_verdict_and_answers_again_is_kept()
    {
        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        // A GC pause or a short SIGSTOP of the node: 500 ms without any answer, then everything answered again.
        for (int i = 0; i < 10; i++)
        {
            Tick(traffic: true, silent: true);
        }
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        Assert.Empty(Failovers());
        Assert.Equal(SessionState.Attached, _session.State);
    }

    [Fact]
    public void On_a_slow_link_the_verdict_waits_four_round_trips_but_never_longer_than_path_dead()
    {
        Assert.Equal(NodeSilence.FastVerdictMs, NodeSilence.VerdictMs(-1, 1000));
        Assert.Equal(NodeSilence.FastVerdictMs, NodeSilence.VerdictMs(20, 1000));
        Assert.Equal(800, NodeSilence.VerdictMs(200, 1000));
        Assert.Equal(1000, NodeSilence.VerdictMs(400, 1000));
        Assert.Equal(400, NodeSilence.VerdictMs(20, 400)); // a shorter path_dead still bounds it

        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        _session.RttMs = 200; // as measured by the last KEEPALIVE_ACK on a slow link
        long silentFrom = _rig.NowMs + 50;
        while (Failovers().Length == 0)
        {
            Tick(traffic: true, silent: true);
            Assert.True(_rig.NowMs - silentFrom < 3_000, "no verdict within 3 s");
        }
        Assert.InRange(_rig.NowMs - silentFrom, 800, 850);
    }

    [Fact]
    public void After_moving_on_a_late_packet_of_the_node_left_does_not_point_the_client_back_at_it()
    {
        UseNodes(Second, Third);
        Attach();
        for (int i = 0; i < 100; i++)
        {
            Tick(traffic: true, silent: false);
        }
        while (Failovers().Length == 0)
        {
            Tick(traffic: true, silent: true);
        }
        Assert.Equal(Second.ToString(), CurrentEndpoint);
        // The stalled node wakes up and answers a ping it had queued: authenticated, from the node the client left.
        (_, byte[]? late) = TwoDevices.Encapsulate(_rig.T.B, TwoDevices.Ipv4Packet("10.0.0.2", "10.0.0.1", 56));
        RoleRig.Deliver(_rig.T.A, late!, _rig.T.AddrB);
        Assert.Equal(Second.ToString(), CurrentEndpoint);
        Assert.False(_rig.T.PeerBOnA.AllowRoaming);
    }

    [Fact]
    public void A_node_that_keeps_refusing_not_authoritative_owner_for_two_seconds_is_left_for_the_next_one()
    {
        UseNodes(Second, Third);
        AttachAndSettle();
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachRejectFrame(Id, 5, 1, ReasonCode.NotAuthoritativeOwner, 300).Write(frame);
        long start = _rig.NowMs;
        // Refused every 200 ms: the owner is alive (a dead one is taken over within ~1.25 s), so asking here
        // again is futile; after 2 s of it the client tries the next node.
        while (Failovers().Length == 0)
        {
            _rig.ServerSends(frame[..n]);
            _rig.Pump();
            for (int i = 0; i < 4; i++)
            {
                Tick(traffic: false, silent: false);
            }
            Assert.True(_rig.NowMs - start < 3_000, "still asking the refusing node after 3 s");
        }
        Assert.InRange(_rig.NowMs - start, ServerFailover.OwnerRefusalRotateMs, ServerFailover.OwnerRefusalRotateMs + 300);
        Assert.Contains("OWNER_ELSEWHERE", Assert.Single(Failovers()), StringComparison.Ordinal);
    }

    private void Move(IPEndPoint? target, SessionId? id = null, SocketAddress? from = null)
    {
        Span<byte> frame = stackalloc byte[64];
        int n = new SessionMoveFrame(id ?? Id, 7, ReasonCode.NodeDrain, target).Write(frame);
        if (from is null)
        {
            _rig.ServerSends(frame[..n]);
            foreach ((byte[] d, _) in _rig.T.WireB.Drain())
            {
                RoleRig.Deliver(_rig.T.A, d, _rig.T.AddrB);
            }
            // What the client sends now goes to the node it moved to, which this rig does not play.
            _sentAfterMove.AddRange(_rig.T.WireA.Drain().Select(x => EndpointCodec.ToIPEndPoint(x.To).ToString()));
        }
        else
        {
            Assert.True(ControlFrame.TryReadHeader(frame[..n], out ControlFrameType type, out _));
            _role.OnFrame(_session, type, frame[..n], null, _rig.NowMs, from);
        }
    }

    /// <summary>Attached, then quiet long enough that WireGuard allows a new initiation at once.</summary>
    private void AttachAndSettle()
    {
        Attach();
        for (int i = 0; i < 110; i++)
        {
            Tick(traffic: false, silent: false);
        }
    }

    [Fact]
    public void Session_move_to_a_configured_node_goes_there_at_once_and_handshakes()
    {
        UseNodes(Second, Third);
        AttachAndSettle();
        long initiationBefore = _rig.T.PeerBOnA.Timers.LastInitiationSentNs;
        string before = CurrentEndpoint;

        Move(Third);

        Assert.Equal(Third.ToString(), MovingTo);
        Assert.Equal(before, CurrentEndpoint); // data keeps going to the draining node until the new handshake completes
        Assert.Equal([Third.ToString()], _sentAfterMove); // the handshake initiation
        Assert.NotEqual(initiationBefore, _rig.T.PeerBOnA.Timers.LastInitiationSentNs);
        string line = Assert.Single(Failovers());
        Assert.Contains("\"detail_code\":\"DRAIN\"", line, StringComparison.Ordinal);
        Assert.Contains("\"requested_endpoint_configured\":true", line, StringComparison.Ordinal);
        Assert.Equal(7ul, _session.LastAckedVersion);
        Assert.Equal(SessionState.Recovering, _session.State);
        Assert.Equal("NODE_DRAIN", _session.LastReason);
    }

    [Fact]
    public void Session_move_to_an_address_the_user_did_not_configure_goes_to_the_next_configured_node()
    {
        UseNodes(Second, Third);
        AttachAndSettle();

        Move(new IPEndPoint(IPAddress.Parse("203.0.113.66"), 4444));

        Assert.Equal(Second.ToString(), MovingTo);
        string line = Assert.Single(Failovers());
        Assert.Contains("\"requested_endpoint\":\"203.0.113.66:4444\"", line, StringComparison.Ordinal);
        Assert.Contains("\"requested_endpoint_configured\":false", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Session_move_without_a_target_goes_to_the_next_configured_node()
    {
        UseNodes(Second, Third);
        AttachAndSettle();
        Move(null);
        Assert.Equal(Second.ToString(), MovingTo);
    }

    [Fact]
    public void Session_move_for_another_session_or_from_a_node_already_left_is_ignored()
    {
        UseNodes(Second, Third);
        AttachAndSettle();

        Move(Third, id: Parse("ffeeddccbbaa99887766554433221100"));
        Move(Third, from: EndpointCodec.ToSocketAddress(Second, dualMode: false));

        Assert.Empty(Failovers());
        Assert.Equal(EndpointCodec.ToIPEndPoint(_rig.T.AddrB).ToString(), CurrentEndpoint);
        Assert.Equal(SessionState.Attached, _session.State);
    }

    [Fact]
    public void A_client_with_one_node_ignores_session_move()
    {
        AttachAndSettle();
        Move(Second);
        Assert.Empty(Failovers());
        Assert.Equal(EndpointCodec.ToIPEndPoint(_rig.T.AddrB).ToString(), CurrentEndpoint);
        Assert.Equal(SessionState.Attached, _session.State);
    }

    [Fact]
    public void A_move_whose_initiation_waits_for_wireguards_limit_handshakes_as_soon_as_allowed()
    {
        UseNodes(Second);
        Attach(); // the handshake just happened: the next initiation may leave only RekeyTimeout later
        long initiationBefore = _rig.T.PeerBOnA.Timers.LastInitiationSentNs;
        Move(Second);
        Assert.Equal(Second.ToString(), MovingTo);
        Assert.Equal(initiationBefore, _rig.T.PeerBOnA.Timers.LastInitiationSentNs);

        Assert.Empty(_sentAfterMove);
        for (int i = 0; i < 110 && _rig.T.PeerBOnA.Timers.LastInitiationSentNs == initiationBefore; i++)
        {
            _rig.Advance(50);
            _role.Sweep(_rig.ClientContext.NowMs());
            _sentAfterMove.AddRange(_rig.T.WireA.Drain().Select(x => EndpointCodec.ToIPEndPoint(x.To).ToString()));
        }
        Assert.Contains(Second.ToString(), _sentAfterMove);
        Assert.NotEqual(initiationBefore, _rig.T.PeerBOnA.Timers.LastInitiationSentNs);
        Assert.True(_rig.T.PeerBOnA.Timers.LastInitiationSentNs - initiationBefore <= 5_200_000_000L);
        Assert.Single(Failovers());
    }
}
