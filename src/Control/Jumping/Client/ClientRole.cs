using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.PathSwitching;
using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping.Client;

/// <summary>
/// The client role (docs/design.md §2.2, docs/session-spec.md §1.8) for peers with a configured endpoint:
/// sends HELLO after every handshake (resuming its session id), keeps a mirror of the server's state, sends
/// KEEPALIVE when idle (docs/paths.md "Idle"), answers REBIND_HINT with REATTACH_REQUEST and retries with
/// backoff inside the recovery window, moves to the next cluster node when the server goes silent
/// (<see cref="ServerFailover"/>), and starts a new session only after the old one is TERMINATED. A jvpn
/// client whose server never answers HELLO keeps working over plain WireGuard ("session layer off").
/// Path-dependent frames and the path manager's decisions go through the <see cref="PathSwitcher"/>.
/// </summary>
internal sealed class ClientRole
{
    private const int MaxHelloAttempts = 5;
    private readonly NodeContext _context;
    private readonly WireGuardDevice _device;
    private readonly SessionPolicy _policy;
    private readonly PathSwitcher _paths;
    private readonly ConcurrentDictionary<Peer, ClientSession> _sessions = new();

    public ClientRole(NodeContext context, IEnumerable<Peer> clientRolePeers, PathSwitcher paths)
    {
        _context = context;
        _device = context.Device;
        _policy = context.Policy;
        _paths = paths;
        Failover = new ServerFailover(context);
        foreach (Peer p in clientRolePeers)
        {
            _sessions[p] = new ClientSession(p);
        }
    }

    /// <summary>The cluster nodes of the one server peer (docs/cluster.md).</summary>
    public ServerFailover Failover { get; }

    /// <summary>The client sessions, one per client-role peer, fixed at construction.</summary>
    public ICollection<ClientSession> Sessions => _sessions.Values;

    public bool Serves(Peer peer) => _sessions.ContainsKey(peer);

    public bool TryGet(Peer peer, [NotNullWhen(true)] out ClientSession? session) => _sessions.TryGetValue(peer, out session);

    /// <summary>Gives every session a path manager (paths on) or takes it away (one socket, no path management).</summary>
    public void UsePathManagers(bool on)
    {
        foreach (ClientSession c in _sessions.Values)
        {
            c.Paths = on ? new PathManager(_policy) : null;
        }
    }

    /// <summary>A new session's keys are installed: HELLO (docs/design.md §2.2: after every completed handshake, new session or resume).</summary>
    public void OnSessionKeysInstalled(ClientSession c)
    {
        MoveTrace.Step(_context, "client.keys_installed", c.Id);
        SendHello(c, _context.NowMs());
    }

    /// <summary>A control frame from the server.</summary>
    public void OnFrame(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, IDatagramSender? arrivedVia, long now, SocketAddress? from = null)
    {
        // The frequent answers (several per second while data flows) take a path without lambdas:
        // a capturing lambda anywhere in a method allocates its closure on every call, and the
        // receive loop must allocate nothing per packet.
        if (TryClientLiveness(c, type, frame, now))
        {
            return;
        }
        if (type == ControlFrameType.SessionMove)
        {
            // A draining node names where to go (docs/cluster.md "Drain"); a client without other nodes ignores it.
            if (SessionMoveFrame.TryParse(frame, out SessionMoveFrame move))
            {
                Failover.OnSessionMove(c, move, from, now);
            }
            return;
        }
        OnClientFrame(c, type, frame, arrivedVia, now);
    }

    /// <summary>The client half of the sweep: paths, HELLO and reattach retries, liveness, keepalives.</summary>
    public void Sweep(long now)
    {
        foreach (ClientSession c in _sessions.Values)
        {
            SweepClient(c, now);
        }
    }

    private void SendHello(ClientSession c, long now)
    {
        Span<byte> frame = stackalloc byte[128];
        bool resume = !c.Id.IsNone && c.State != SessionState.Terminated;
        // The idle interval rides along so the server knows how long an idle binding may stay silent.
        int n = new HelloFrame(ControlFrame.ProtocolVersion, ControlCapabilities.None, c.TakeCtrlSeq(),
            resume ? c.Id : SessionId.None, resume ? c.LastAckedVersion : 0, _context.WallMs())
        { IdleKeepaliveMs = (uint)_policy.IdleKeepaliveIntervalMs }.Write(frame);
        if (_device.SendControl(c.Peer, frame[..n]))
        {
            c.HelloDeadlineMs = now + 1000;
            c.HelloAttempts++;
        }
    }

    private void SendReattach(ClientSession c, long now, ReasonCode reason)
    {
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachRequestFrame(c.Id, c.TakeCtrlSeq(), c.LastAckedVersion, reason, 0, _context.WallMs()).Write(frame);
        _device.SendControl(c.Peer, frame[..n]);
        c.ReattachAttempts++;
        // Backoff 100, 200, 400 ... ms, capped at 2 s, inside the recovery window (docs/session-spec.md §1.8).
        c.ReattachDeadlineMs = now + Math.Min(2000, 100L << Math.Min(c.ReattachAttempts, 5));
        _context.PublishLine("REATTACH_ATTEMPT", c.Id, c.LastAckedVersion, w =>
        {
            w.WriteString("switch_reason", WireNames.Of(reason));
            w.WriteNumber("attempt", c.ReattachAttempts);
        });
    }

    /// <summary>PATH_PROBE_ACK and KEEPALIVE_ACK, allocation-free (no lambdas in this method).</summary>
    private bool TryClientLiveness(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, long now)
    {
        if (type == ControlFrameType.PathProbeAck && c.Paths is { } m && PathProbeAckFrame.TryParse(frame, out PathProbeAckFrame probe))
        {
            lock (c.PathLock)
            {
                m.OnProbeAck((int)probe.PathId, probe.EchoedCtrlSeq, now);
            }
            return true;
        }
        if (type == ControlFrameType.KeepaliveAck && KeepaliveAckFrame.TryParse(frame, out KeepaliveAckFrame kack))
        {
            c.RttMs = Math.Max(0, (long)_context.WallMs() - (long)kack.EchoTimestampMs);
            if (kack.StateVersion > c.LastAckedVersion)
            {
                c.LastAckedVersion = kack.StateVersion;
            }
            return true;
        }
        return false;
    }

    private void OnClientFrame(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, IDatagramSender? arrivedVia, long now)
    {
        if (ServerFailover.OnOwnershipRefusal(c, type, frame, now) && Failover.HasOtherNodes(c)) // cluster node not serving yet: retry
        {
            // Refused for longer than a dead owner takes to be taken over: the owner is alive elsewhere.
            c.NextRehandshakeMs = now + 5_000; // WireGuard's RekeyTimeout; the failover may set an earlier retry
            c.LastReason = "OWNER_ELSEWHERE";
            Failover.FailoverToNextServer(c, now, "OWNER_ELSEWHERE");
        }
        if (c.Paths is not null && _paths.OnFrame(c, type, frame, arrivedVia, now))
        {
            return;
        }
        switch (type)
        {
            case ControlFrameType.HelloAck when HelloAckFrame.TryParse(frame, out HelloAckFrame ack):
                if (!c.Id.IsNone && ack.SessionId != c.Id)
                {
                    _context.PublishLine("SESSION_REPLACED", ack.SessionId, ack.StateVersion, w => w.WriteString("previous_session_id", c.Id.ToString()));
                }
                else if (c.Id.IsNone)
                {
                    _context.PublishLine("SESSION_ESTABLISHED", ack.SessionId, ack.StateVersion, null);
                }
                if (c.ExpiredLocally && ack.SessionId != c.Id)
                {
                    _context.Logger.LogWarning("new session {Session} opened (the previous one, {Previous}, expired while no path was available)", ack.SessionId, c.Id);
                }
                c.ExpiredLocally = false;
                if (ack.SessionId != c.Id)
                {
                    c.WakeMs = now; // a new session: fast heartbeat for idle_after (a resume after a rekey is not news)
                }
                MoveTrace.Step(_context, "client.hello_ack", ack.SessionId);
                c.Id = ack.SessionId;
                c.LastAckedVersion = ack.StateVersion;
                c.BoundAtVersion = ack.BoundAtVersion;
                c.State = SessionState.Attached;
                c.SessionLayerOn = true;
                c.HelloDeadlineMs = -1;
                c.HelloAttempts = 0;
                c.LastTransitionMs = now;
                break;
            case ControlFrameType.RebindHint when RebindHintFrame.TryParse(frame, out RebindHintFrame hint) && hint.SessionId == c.Id
                && !PathSwitcher.IsCandidatePath(c, arrivedVia):
                if (hint.StateVersion > c.LastAckedVersion)
                {
                    c.LastAckedVersion = hint.StateVersion;
                }
                if (c.ReattachDeadlineMs < 0)
                {
                    c.ReattachAttempts = 0;
                    c.ReattachStartedMs = now;
                    SendReattach(c, now, ReasonCode.NatRebind);
                }
                break;
            case ControlFrameType.ReattachAck when ReattachAckFrame.TryParse(frame, out ReattachAckFrame rack) && rack.SessionId == c.Id:
                c.LastAckedVersion = rack.NewStateVersion;
                c.BoundAtVersion = rack.BoundAtVersion;
                c.State = SessionState.Attached;
                c.Switches++;
                c.LastReason = "REATTACH_SUCCESS";
                c.LastTransitionMs = now;
                c.WakeMs = now; // the NAT just changed: watch the new mapping closely for idle_after
                _context.PublishLine("REATTACH_RESULT", c.Id, rack.NewStateVersion, w =>
                {
                    w.WriteString("status", "SUCCESS");
                    w.WriteNumber("switch_latency_ms", c.ReattachStartedMs >= 0 ? now - c.ReattachStartedMs : 0);
                });
                c.ReattachDeadlineMs = -1;
                c.ReattachStartedMs = -1;
                break;
            case ControlFrameType.ReattachReject when ReattachRejectFrame.TryParse(frame, out ReattachRejectFrame rej) && rej.SessionId == c.Id:
                _context.PublishLine("REATTACH_RESULT", c.Id, rej.CurrentStateVersion, w =>
                {
                    w.WriteString("status", "DENIED");
                    w.WriteString("reason_code", WireNames.Of(rej.Reason));
                });
                if (rej.Reason is ReasonCode.SessionNotFound or ReasonCode.SessionTerminated)
                {
                    // The old session is gone: start a new one explicitly (docs/session-spec.md §1.8).
                    c.State = SessionState.Terminated;
                    c.ReattachDeadlineMs = -1;
                    c.HelloAttempts = 0;
                    SendHello(c, now);
                }
                else if (rej.Reason == ReasonCode.StaleStateVersion && rej.CurrentStateVersion > 0)
                {
                    c.LastAckedVersion = rej.CurrentStateVersion;
                    c.ReattachDeadlineMs = now + Math.Max(50, rej.RetryAfterMs);
                }
                else if (rej.Reason == ReasonCode.InvalidTransportCandidate && c.State != SessionState.Terminated)
                {
                    // "Already bound there" (docs/protocol.md): a retried REATTACH whose ACK was lost or overtaken, the
                    // node holds the session bound to this address. As the path manager takes it: attached, stop retrying.
                    if (rej.CurrentStateVersion > c.LastAckedVersion)
                    {
                        c.LastAckedVersion = rej.CurrentStateVersion;
                    }
                    c.State = SessionState.Attached;
                    c.ReattachDeadlineMs = -1;
                    c.ReattachStartedMs = -1;
                    c.LastTransitionMs = now;
                }
                else
                {
                    c.ReattachDeadlineMs = now + ServerFailover.RetryAfterMs(rej);
                }
                break;
            case ControlFrameType.Terminate when TerminateFrame.TryParse(frame, out TerminateFrame t) && t.SessionId.IsNone:
                // Refused before any session existed (e.g. SESSION_LIMIT_REACHED): stay plain WireGuard.
                c.HelloDeadlineMs = -1;
                c.SessionLayerOn = false;
                c.LastReason = WireNames.Of(t.Reason);
                _context.PublishLine("SESSION_REFUSED", SessionId.None, 0, w => w.WriteString("reason_code", WireNames.Of(t.Reason)));
                break;
            case ControlFrameType.TerminateAck:
            case ControlFrameType.Terminate:
                c.State = SessionState.Terminated;
                _context.PublishLine("SESSION_TERMINATED", c.Id, c.LastAckedVersion, null);
                break;
            default:
                break;
        }
    }

    private void SweepClient(ClientSession c, long now)
    {
        if (c.Paths is not null)
        {
            _paths.Sweep(c, now);
        }
        if (!c.Peer.HasCurrentKeypair)
        {
            return;
        }
        if (c.HelloDeadlineMs >= 0 && now >= c.HelloDeadlineMs)
        {
            if (c.HelloAttempts >= MaxHelloAttempts)
            {
                // No HELLO_ACK: a plain WireGuard server. Keep going on WireGuard alone (docs/design.md §2.2).
                c.HelloDeadlineMs = -1;
                c.SessionLayerOn = false;
                _context.Logger.LogInformation("peer {Peer} does not speak the Jumping session layer; continuing as plain WireGuard",
                    Convert.ToBase64String(c.Peer.PublicKey));
            }
            else
            {
                SendHello(c, now);
            }
        }
        if (!c.SessionLayerOn)
        {
            return;
        }
        if (c.ReattachDeadlineMs >= 0 && now >= c.ReattachDeadlineMs)
        {
            if (c.ReattachStartedMs >= 0 && now - c.ReattachStartedMs > _policy.RecoveryWindowMs)
            {
                c.State = SessionState.Degraded; // keep trying, more slowly
            }
            SendReattach(c, now, ReasonCode.NatRebind);
        }
        // Liveness (docs/design.md §3 heartbeat / transport_dead): the server answers every KEEPALIVE, so silence
        // for transport_dead means the path or the server is gone. A restarted server no longer knows our
        // keys and drops everything as an unknown index; WireGuard alone would wait 15 s
        // (KeepaliveTimeout + RekeyTimeout) before rehandshaking. Start the handshake now; the HELLO after
        // it resumes the session, or tells us the server lost it (SESSION_REPLACED).
        long nowNs = _device.NowNs();
        long unansweredMs = UnansweredMs(c, nowNs);
        long lastRx = c.Peer.LastAuthenticatedRxNs;
        long silentMs = lastRx == long.MinValue ? 0 : (nowNs - lastRx) / 1_000_000;
        // With other cluster nodes to go to, every path to this one silent with traffic outstanding for the
        // node-silence verdict (0.6 s on a short round trip, at most path_dead) is enough to leave it: waiting for
        // transport_dead would cost seconds (docs/cluster.md "Client failover").
        long dataWaitMs = NodeSilence.DataWaitMs(ref c.DataWaitingSinceNs, c.Peer.LastDataTxNs, lastRx, nowNs);
        bool otherNodes = Failover.HasOtherNodes(c);
        // A node that answered since the client moved to it gets the settling verdict (docs/cluster.md "Client failover").
        if (c.NodeMoves > 0 && c.SettlingSinceMs < 0 && lastRx != long.MinValue && lastRx > c.LastNodeMoveNs)
        {
            c.SettlingSinceMs = now;
        }
        int recentMoves = NodeSilence.RecentMoves(c.NodeMoves, c.SettlingSinceMs, now);
        if (otherNodes && now >= c.NextNodeFailoverMs
            && NodeSilence.IsDead(dataWaitMs, c.LastKeepaliveSentNs, lastRx,
                NodeSilence.SettlingVerdictMs(c.RttMs, _policy.PathDeadMs, _policy.TransportDeadMs, recentMoves)))
        {
            c.NextNodeFailoverMs = now + _policy.PathDeadMs;
            c.NextRehandshakeMs = now + 5_000; // WireGuard's RekeyTimeout; the failover may set an earlier retry
            c.State = SessionState.Recovering;
            c.LastReason = "PATH_DEAD";
            c.LastTransitionMs = now;
            Failover.FailoverToNextServer(c, now, "PATH_DEAD");
        }
        else if (Failover.InitiationOwed(c) && now >= c.NextRehandshakeMs)
        {
            // The initiation to the chosen node may leave now; that node gets its RekeyTimeout before
            // transport_dead may move the client on again.
            c.NextRehandshakeMs = now + 5_000;
            Failover.FailoverToNextServer(c, now);
        }
        if (unansweredMs > _policy.TransportDeadMs && now >= c.NextRehandshakeMs)
        {
            c.NextRehandshakeMs = now + 5_000; // WireGuard's RekeyTimeout: at most one initiation per 5 s
            c.State = SessionState.Recovering;
            c.LastReason = "TRANSPORT_DEAD";
            c.LastTransitionMs = now;
            _context.PublishLine("TRANSPORT_DEAD", c.Id, c.LastAckedVersion, w => w.WriteNumber("silent_ms", unansweredMs));
            Failover.FailoverToNextServer(c, now); // next cluster node, if any
            _device.SendHandshakeInitiation(c.Peer, isRetry: false);
        }
        // The client's copy of transport_lost_ttl (docs/session-spec.md §1.8: TTL minus a margin): the server has
        // ended the session by now, so say so, and open a new one as soon as any path answers again. The
        // server only starts counting after our announced idle interval (docs/paths.md "Idle"), so do we.
        if (c.State != SessionState.Terminated && !c.Id.IsNone
            && silentMs > Math.Max(_policy.TransportDeadMs, _policy.TransportLostTtlMs - 1_000) + _policy.IdleKeepaliveIntervalMs)
        {
            c.State = SessionState.Terminated;
            c.ExpiredLocally = true;
            c.LastReason = "TRANSPORT_LOSS_TTL_EXPIRED";
            c.LastTransitionMs = now;
            c.ReattachDeadlineMs = -1;
            _context.PublishLine("SESSION_TERMINATED", c.Id, c.LastAckedVersion, w =>
            {
                w.WriteString("reason_code", "TRANSPORT_LOSS_TTL_EXPIRED");
                w.WriteNumber("silent_ms", silentMs);
            });
            _context.Logger.LogWarning("session {Session} expired after {Seconds:0.0} s without any path to the server; a new one opens when a path returns",
                c.Id, silentMs / 1000.0);
        }
        else if (c.State == SessionState.Terminated && c.ExpiredLocally && silentMs < _policy.HeartbeatVolatileMs && now >= c.HelloDeadlineMs)
        {
            c.HelloAttempts = 0;
            SendHello(c, now); // resume=false: the old session is gone (SESSION_REPLACED follows)
            c.HelloDeadlineMs = now + 1_000;
        }
        SendKeepaliveIfDue(c, now, nowNs, unansweredMs, otherNodes && NodeSilence.Probing(dataWaitMs), NodeSilence.ProbeEveryMsFor(recentMoves));
    }

    /// <summary>
    /// KEEPALIVE on the active path (docs/design.md §2.2), on the schedule of docs/paths.md "Idle": every
    /// heartbeat_interval while data flowed within idle_after or a request is unanswered, then with gaps
    /// doubling up to idle_keepalive_interval. It goes out even when probes went out on other paths: it is
    /// the packet that refreshes the active path's NAT mapping and, from a remapped address, earns the
    /// REBIND_HINT that moves the binding. While the user's own data leaves, it is not needed, except as a
    /// fast probe (<paramref name="probe"/>): a cluster node that has not answered data for
    /// <see cref="NodeSilence.ProbeAfterMs"/> is asked every <paramref name="probeEveryMs"/> (<see cref="NodeSilence.ProbeEveryMs"/>,
    /// slower while settling on a node just moved to), so a reply lost on the way does not decide the node-silence
    /// verdict (docs/cluster.md "Client failover").
    /// </summary>
    private void SendKeepaliveIfDue(ClientSession c, long now, long nowNs, long unansweredMs, bool probe, long probeEveryMs)
    {
        long lastDataTx = NodeContext.ToNodeMs(c.Peer.LastDataTxNs, now, nowNs) ?? -1;
        long lastData = Math.Max(Math.Max(lastDataTx, NodeContext.ToNodeMs(c.Peer.LastDataRxNs, now, nowNs) ?? -1), c.WakeMs);
        long due = probe ? c.LastKeepaliveMs + probeEveryMs
            : unansweredMs >= _policy.HeartbeatIntervalMs ? c.LastKeepaliveMs + _policy.HeartbeatIntervalMs
            : IdleSchedule.NextDueMs(_policy, c.LastKeepaliveMs, lastData);
        if (now < due || !probe && now - lastDataTx < _policy.HeartbeatIntervalMs && unansweredMs < _policy.HeartbeatIntervalMs)
        {
            return;
        }
        Span<byte> frame = stackalloc byte[64];
        int n = new KeepaliveFrame(c.TakeCtrlSeq(), _context.WallMs(), 0, c.LastAckedVersion).Write(frame);
        long sentNs = _device.NowNs(); // before sending: on a short path the ACK is back before SendControl returns
        if (_device.SendControl(c.Peer, frame[..n]))
        {
            c.LastKeepaliveSentNs = sentNs;
            if (c.Paths is { } m)
            {
                lock (c.PathLock)
                {
                    m.OnKeepaliveSent(now);
                }
            }
        }
        c.LastKeepaliveMs = now;
    }

    /// <summary>
    /// How long the oldest request (data or KEEPALIVE) sent after the last authenticated packet from the
    /// server has gone unanswered; 0 when nothing waits. The client's liveness verdicts count this, not the
    /// age of the last packet: an idle session is quiet for a whole idle interval by design.
    /// </summary>
    private static long UnansweredMs(ClientSession c, long nowNs)
    {
        long lastRx = c.Peer.LastAuthenticatedRxNs;
        long lastRequest = Math.Max(c.Peer.LastDataTxNs, c.LastKeepaliveSentNs);
        if (lastRequest == long.MinValue || lastRequest <= lastRx)
        {
            c.WaitingSinceNs = long.MinValue;
            return 0;
        }
        if (c.WaitingSinceNs == long.MinValue || c.WaitingSinceNs <= lastRx)
        {
            c.WaitingSinceNs = lastRequest;
        }
        return Math.Max(0, (nowNs - c.WaitingSinceNs) / 1_000_000);
    }

    /// <summary>
    /// Ends client sessions explicitly (TERMINATE, CLIENT_TERMINATED) so the server does not have to wait
    /// for transport_lost_ttl; best effort, one frame each, before the interface goes away.
    /// </summary>
    public void TerminateAll()
    {
        Span<byte> frame = stackalloc byte[64];
        foreach (ClientSession c in _sessions.Values)
        {
            if (c.SessionLayerOn && !c.Id.IsNone && c.State != SessionState.Terminated)
            {
                int n = new TerminateFrame(c.Id, c.TakeCtrlSeq(), c.LastAckedVersion, ReasonCode.ClientTerminated).Write(frame);
                _device.SendControl(c.Peer, frame[..n]);
                c.State = SessionState.Terminated;
                _context.PublishLine("SESSION_TERMINATED", c.Id, c.LastAckedVersion, w => w.WriteString("reason_code", "CLIENT_TERMINATED"));
            }
        }
    }

}
