using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// The server role (docs/design.md §2.2-§3) for peers without a configured endpoint: answers HELLO with a
/// session (BIRTH -> ATTACHED), pins the binding (no implicit roaming), answers authenticated traffic from
/// an unbound address with a rate-limited REBIND_HINT, moves the binding only on a validated REATTACH,
/// declares the transport dead when the client goes silent for transport_dead, and lets the state
/// machine's timers run. Frames arrive on the receive thread, <see cref="Sweep"/> runs on the node's sweep
/// (docs/threads.md); who may change a session is the <see cref="Ownership"/> strategy's call. With
/// <see cref="UseWorkers"/> (a cluster node) everything that may wait for the store runs on the control
/// workers instead (docs/threads.md "Control workers"): the receive thread keeps only the KEEPALIVEs and
/// PATH_PROBEs that change nothing, and the sweep hands due sessions over.
/// </summary>
internal sealed class ServerRole : IControlHandler
{
    private readonly NodeContext _context;
    private readonly ServerSessionTable _sessions;
    private readonly Action<Span<byte>> _random;
    private readonly SessionPolicy _policy;
    private ISessionOwnership _ownership = SingleNodeOwnership.Instance;
    private ControlWorkers? _workers;
    private long _controlFloodSuppressed;
    private long _sessionLimitRefusals;
    private long _sessionLimitLoggedMs = -1;

    /// <summary>One reusable event list per thread (receive thread, each control worker): a keepalive or rejected frame allocates nothing.</summary>
    [ThreadStatic]
    private static List<AuditEvent>? t_serverAudit;

    public ServerRole(NodeContext context, ServerSessionTable sessions, Action<Span<byte>> random)
    {
        _context = context;
        _sessions = sessions;
        _random = random;
        _policy = context.Policy;
    }

    /// <summary>Single node by default; a cluster node sets its store-backed ownership before the node starts.</summary>
    public ISessionOwnership Ownership
    {
        get => _ownership;
        set => _ownership = value;
    }

    public ServerSessionTable Sessions => _sessions;

    /// <summary>The control workers, once a cluster node started them (null: everything runs where it arrives).</summary>
    public ControlWorkers? Workers => _workers;

    /// <summary>
    /// From now on frames and sweep work that may wait for the store run on <paramref name="workers"/> (cluster
    /// mode, set when the node starts; before that, and on a single server, they run inline).
    /// </summary>
    public void UseWorkers(ControlWorkers workers) => _workers = workers;

    /// <summary>Authenticated traffic from an address the session is not bound to (docs/design.md §2.2 binding rule).</summary>
    public void OnUnboundSource(Peer peer, SocketAddress from, ReadOnlySpan<byte> plaintext)
    {
        if (!_sessions.TryGet(peer, out ServerSession? s) || IsPathControl(plaintext) || _workers?.HasPending(peer) == true)
        {
            return; // with a reattach of this peer queued or running, its answer moves the binding or not
        }
        long now = _context.NowMs();
        if (now < s.NextHintCheckMs)
        {
            return; // cheap per-packet gate before any conversion or allocation
        }
        s.NextHintCheckMs = now + 50;
        var observed = TransportAddress.From(EndpointCodec.ToIPEndPoint(from));
        if (s.Slot.TryTakeRebindHint(observed, now, out ulong version))
        {
            Span<byte> frame = stackalloc byte[64];
            int n = new RebindHintFrame(s.Slot.Id, version).Write(frame);
            _context.Device.SendControl(peer, frame[..n], EndpointCodec.Copy(from));
            _context.PublishLine("REBIND_HINT_SENT", s.Slot.Id, version, w => w.WriteString("observed", observed.ToString()));
        }
    }

    /// <summary>
    /// Control frames that speak for themselves from a new address: a PATH_PROBE measures a candidate
    /// path and never binds (docs/design.md §2.2), HELLO and REATTACH_REQUEST carry their own request. Hinting at
    /// them would only answer the client's probing of its other interfaces with REBIND_HINTs.
    /// </summary>
    private static bool IsPathControl(ReadOnlySpan<byte> plaintext) =>
        plaintext.Length >= 2 && plaintext[0] == 0x00
        && (ControlFrameType)plaintext[1] is ControlFrameType.PathProbe or ControlFrameType.ReattachRequest or ControlFrameType.Hello;

    /// <summary>
    /// A control frame from a server-role peer (HELLO, REATTACH_REQUEST, KEEPALIVE, PATH_PROBE, TERMINATE), on the
    /// receive thread. Without workers it is handled here. With them (docs/threads.md "Control workers"), HELLO,
    /// REATTACH_REQUEST and TERMINATE always go to the peer's worker (they commit through the store); a
    /// KEEPALIVE or PATH_PROBE is answered here only when it commits nothing: no frame of its peer is still
    /// queued (order), the session's lock is free and no timer of the session is due. Otherwise it queues too.
    /// </summary>
    public void OnFrame(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now)
    {
        _sessions.TryGet(peer, out ServerSession? s);
        if (s is not null && type is ControlFrameType.Hello or ControlFrameType.ReattachRequest && !AdmitAudited(s, now))
        {
            return; // over the session's tier-0 budget: counted, not processed, not logged (and never queued)
        }
        if (_workers is not { } workers)
        {
            Handle(peer, type, frame, from, now, s);
            return;
        }
        if (type is ControlFrameType.Hello or ControlFrameType.ReattachRequest or ControlFrameType.Terminate
            || workers.HasPending(peer) || !TryHandleInline(peer, type, frame, from, now, s))
        {
            if (type is ControlFrameType.Hello or ControlFrameType.ReattachRequest)
            {
                MoveTrace.Step(_context, type == ControlFrameType.Hello ? "target.hello_queued" : "target.reattach_queued", s?.Slot.Id ?? SessionId.None);
            }
            workers.TryEnqueue(peer, type, frame, from); // a full queue drops and counts; the client retries
        }
    }

    /// <summary>A control worker's item: the frame as the receive thread would have handled it, at the worker's time.</summary>
    void IControlHandler.Handle(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from)
    {
        _sessions.TryGet(peer, out ServerSession? s);
        Handle(peer, type, frame, from, _context.NowMs(), s);
    }

    /// <summary>
    /// A KEEPALIVE or PATH_PROBE on the receive thread of a cluster node, answered only if that takes no store
    /// call and no wait: false when it has to go to the worker (a due timer, or the session's lock is held by
    /// a commit). <see cref="ISessionOwnership.Admit"/> of these frames never calls the store. Other frame
    /// types carry nothing the server acts on and are dropped (true).
    /// </summary>
    private bool TryHandleInline(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now, ServerSession? s)
    {
        if (type is not (ControlFrameType.Keepalive or ControlFrameType.PathProbe))
        {
            return true;
        }
        List<AuditEvent> audit = t_serverAudit ??= new List<AuditEvent>(8);
        audit.Clear();
        if (s is not null && now >= s.Slot.NextDueMs)
        {
            return false; // the input would fire a timer: its transition is committed by the worker
        }
        if (!_ownership.Admit(peer, ref s, type, frame, from, now, audit))
        {
            _sessions.Publish(audit);
            return true;
        }
        Span<byte> reply = stackalloc byte[64];
        int n = 0;
        if (type == ControlFrameType.Keepalive)
        {
            if (s is null || !KeepaliveFrame.TryParse(frame, out KeepaliveFrame ka))
            {
                return true;
            }
            if (!s.Slot.TryApplyUncommitted(SessionEvent.Keepalive(ka.CtrlSeq), now, audit, out SessionOutcome o))
            {
                return false;
            }
            n = new KeepaliveAckFrame(ka.CtrlSeq, _context.WallMs(), ka.SendTimestampMs, o.StateVersion).Write(reply);
        }
        else
        {
            if (!PathProbeFrame.TryParse(frame, out PathProbeFrame probe))
            {
                return true;
            }
            if (s is not null && !s.Slot.TryApplyUncommitted(SessionEvent.PathProbe(TransportAddress.From(from), probe.CtrlSeq), now, audit, out _))
            {
                return false;
            }
            n = PathProbeAckFrame.For(probe).Write(reply);
        }
        _sessions.Publish(audit);
        audit.Clear();
        _context.Device.SendControl(peer, reply[..n], from);
        return true;
    }

    /// <summary>Today's handling of one server control frame: admission by the ownership, the state machine, the reply.</summary>
    private void Handle(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now, ServerSession? s)
    {
        // One reusable event list per thread and the source read straight from the socket address: a
        // keepalive or rejected frame allocates nothing.
        List<AuditEvent> audit = t_serverAudit ??= new List<AuditEvent>(8);
        audit.Clear();
        Span<byte> reply = stackalloc byte[256];
        int n = 0;
        TransportAddress source = TransportAddress.From(from);
        if (type is ControlFrameType.Hello or ControlFrameType.ReattachRequest)
        {
            MoveTrace.Step(_context, "target.worker_start", s?.Slot.Id ?? SessionId.None);
        }
        if (!_ownership.Admit(peer, ref s, type, frame, from, now, audit))
        {
            return; // refused from the store's answer, or a session this node may not serve (ClusterOwnership)
        }
        bool admitted = false; // a place under MaxSessionsPerNode taken for a new session, given back after its events are published
        try
        {
            switch (type)
            {
                case ControlFrameType.Hello when HelloFrame.TryParse(frame, out HelloFrame hello):
                    {
                        SessionSnapshot? current = s?.Slot.Snapshot();
                        bool resume = s is not null && !hello.ResumeSessionId.IsNone && hello.ResumeSessionId == s.Slot.Id
                            && current is { State: not SessionState.Terminated };
                        if (!resume && current is not { State: not SessionState.Terminated })
                        {
                            admitted = _sessions.TryAdmit(_policy.MaxSessionsPerNode);
                        }
                        if (!resume && current is not { State: not SessionState.Terminated } && !admitted)
                        {
                            // The node states its limit and refuses cleanly beyond it (docs/design.md §3): no session is
                            // created; the client hears why and stays a plain WireGuard peer until it retries.
                            n = new TerminateFrame(SessionId.None, hello.CtrlSeq, 0, ReasonCode.SessionLimitReached).Write(reply);
                            ReportSessionLimit(now);
                            break;
                        }
                        if (!resume)
                        {
                            if (s is not null)
                            {
                                _sessions.Retire(s); // replaced without a TERMINATE
                            }
                            Span<byte> idBytes = stackalloc byte[SessionId.Size];
                            _random(idBytes);
                            var slot = new SessionSlot(SessionId.Read(idBytes), _policy, now, audit);
                            slot.Apply(SessionEvent.HandshakeConfirmed(source, hello.CtrlSeq), now, audit);
                            if (!_ownership.TryCreate(peer, s, slot))
                            {
                                // Nothing is committed locally that the store did not take (fail closed).
                                audit.Clear();
                                n = new TerminateFrame(SessionId.None, hello.CtrlSeq, 0, ReasonCode.StoreUnavailable).Write(reply);
                                break;
                            }
                            s = new ServerSession(peer, slot) { Flood = s?.Flood ?? new ControlFloodGuard() };
                            _sessions.Put(peer, s);
                            peer.AllowRoaming = false; // jvpn peers never rebind implicitly (docs/design.md §2.2)
                            peer.Endpoint = EndpointCodec.Copy(from);
                        }
                        else if (current!.Value.Binding != source)
                        {
                            // A resume from a new address (e.g. the client re-handshaked after its path changed)
                            // is a reattach: validated and versioned like any other.
                            SessionOutcome o = _ownership.Apply(s!, SessionEvent.Reattach(source, hello.CtrlSeq, hello.LastAckedVersion, ReasonCode.TransportDeadRecovery), now, audit);
                            if (o.Kind != SessionOutcomeKind.Rejected)
                            {
                                peer.Endpoint = EndpointCodec.Copy(from);
                            }
                        }
                        s!.IdleAllowanceMs = Math.Min(hello.IdleKeepaliveMs, SessionPolicy.IdleKeepaliveHardCapMs); // docs/paths.md "Idle"
                        SessionSnapshot snap = s.Slot.Snapshot();
                        n = new HelloAckFrame(ControlFrame.ProtocolVersion, resume, ControlCapabilities.None, hello.CtrlSeq, s.Slot.Id,
                            snap.StateVersion, snap.BoundAtVersion, PolicySnapshot.From(_policy)).Write(reply);
                        break;
                    }
                case ControlFrameType.ReattachRequest when ReattachRequestFrame.TryParse(frame, out ReattachRequestFrame req):
                    {
                        if (s is null || req.SessionId != s.Slot.Id)
                        {
                            n = new ReattachRejectFrame(req.SessionId, req.CtrlSeq, 0, s is null ? ReasonCode.SessionNotFound : ReasonCode.SessionNotFound, 0).Write(reply);
                            break;
                        }
                        SessionOutcome o = _ownership.Apply(s, SessionEvent.Reattach(source, req.CtrlSeq, req.LastAckedVersion, req.SwitchReason), now, audit);
                        SessionSnapshot snap = s.Slot.Snapshot();
                        if (o.Kind == SessionOutcomeKind.Rejected)
                        {
                            n = new ReattachRejectFrame(s.Slot.Id, req.CtrlSeq, snap.StateVersion, o.Reason, o.RetryAfterMs).Write(reply);
                        }
                        else
                        {
                            peer.Endpoint = EndpointCodec.Copy(from); // the binding moves only here (T7)
                            n = new ReattachAckFrame(s.Slot.Id, req.CtrlSeq, snap.StateVersion, snap.BoundAtVersion, ReasonCode.ReattachSuccess).Write(reply);
                        }
                        break;
                    }
                case ControlFrameType.Keepalive when s is not null && KeepaliveFrame.TryParse(frame, out KeepaliveFrame ka):
                    {
                        _ownership.Apply(s, SessionEvent.Keepalive(ka.CtrlSeq), now, audit);
                        n = new KeepaliveAckFrame(ka.CtrlSeq, _context.WallMs(), ka.SendTimestampMs, s.Slot.Snapshot().StateVersion).Write(reply);
                        break;
                    }
                case ControlFrameType.PathProbe when PathProbeFrame.TryParse(frame, out PathProbeFrame probe):
                    {
                        // Never binds; the reply is no larger than the request (anti-amplification).
                        if (s is not null)
                        {
                            _ownership.Apply(s, SessionEvent.PathProbe(source, probe.CtrlSeq), now, audit);
                        }
                        n = PathProbeAckFrame.For(probe).Write(reply);
                        break;
                    }
                case ControlFrameType.Terminate when s is not null && TerminateFrame.TryParse(frame, out TerminateFrame t):
                    {
                        _ownership.Apply(s, SessionEvent.ClientTerminate(t.CtrlSeq), now, audit);
                        SessionSnapshot snap = s.Slot.Snapshot();
                        n = new TerminateAckFrame(s.Slot.Id, t.CtrlSeq, snap.StateVersion, ReasonCode.ClientTerminated).Write(reply);
                        break;
                    }
                default:
                    break;
            }
            _sessions.Publish(audit);
        }
        finally
        {
            if (admitted)
            {
                _sessions.EndAdmission();
            }
        }
        audit.Clear();
        if (s is not null)
        {
            s.NextCheckMs = 0; // its deadlines may have moved: the next sweep looks again
        }
        if (n > 0)
        {
            // Replies go where the request came from: a rejected reattach must still reach the client.
            // SendControl does not keep the address, so the receive buffer's (or the queue slot's) own is fine.
            _context.Device.SendControl(peer, reply[..n], from);
            if (type is ControlFrameType.Hello or ControlFrameType.ReattachRequest)
            {
                MoveTrace.Step(_context, type == ControlFrameType.Hello ? "target.hello_answered" : "target.reattach_answered", s?.Slot.Id ?? SessionId.None);
            }
        }
    }

    /// <summary>HELLO/REATTACH_REQUEST frames dropped over their session's tier-0 budget (all sessions).</summary>
    public long ControlFloodSuppressed => Interlocked.Read(ref _controlFloodSuppressed);

    /// <summary>
    /// Tier 0 for the frames that write audit lines (docs/protocol.md): within the session's budget they
    /// go on; beyond it they are counted, and only the first of an episode writes a line.
    /// </summary>
    private bool AdmitAudited(ServerSession s, long now)
    {
        FloodVerdict verdict = s.Flood.Admit(now);
        if (verdict == FloodVerdict.Admitted)
        {
            return true;
        }
        Interlocked.Increment(ref _controlFloodSuppressed);
        if (verdict == FloodVerdict.EpisodeStarted)
        {
            PublishFloodLine(s, "start", 1);
        }
        return false;
    }

    /// <summary>The sweep's half: an episode quiet for <see cref="ControlFloodGuard.QuietMs"/> gets its end line.</summary>
    private void EndQuietFloodEpisode(ServerSession s, long now)
    {
        if (s.Flood.TryEndEpisode(now, out long suppressed))
        {
            PublishFloodLine(s, "end", suppressed);
        }
    }

    /// <summary>
    /// HELLOs refused at the session limit are counted and logged at most once a second with the total:
    /// a client retrying (or flooding) HELLO must not write a log line per frame.
    /// </summary>
    private void ReportSessionLimit(long now)
    {
        long refused = Interlocked.Increment(ref _sessionLimitRefusals);
        long last = Volatile.Read(ref _sessionLimitLoggedMs);
        if ((last >= 0 && now - last < 1000) || Interlocked.CompareExchange(ref _sessionLimitLoggedMs, now, last) != last)
        {
            return;
        }
        _context.Logger.LogWarning("session limit {Limit} reached: refused a new session ({Refused} refused since start)", _policy.MaxSessionsPerNode, refused);
    }

    private void PublishFloodLine(ServerSession s, string phase, long suppressed) =>
        _context.PublishLine("CONTROL_FLOOD_SUPPRESSED", s.Slot.Id, s.Slot.Snapshot().StateVersion, w =>
        {
            w.WriteString("phase", phase);
            w.WriteNumber("suppressed", suppressed);
            w.WriteNumber("rate_per_s", ControlFloodGuard.RatePerSecond);
            w.WriteNumber("burst", ControlFloodGuard.Burst);
        });

    /// <summary>O(1) lookup by session id (receiver index -> peer -> session is the other O(1) path).</summary>
    public bool TryFindSession(SessionId id, out SessionSnapshot snapshot)
    {
        if (_sessions.TryFind(id, out ServerSession? s))
        {
            snapshot = s.Slot.Snapshot();
            return true;
        }
        snapshot = default;
        return false;
    }

    /// <summary>
    /// A TERMINATED session stays as a tombstone for tombstone_ttl so late frames get a precise answer
    /// (SESSION_TERMINATED) and ids are never reused (docs/session-spec.md §1.6); then it is evicted, so state per
    /// peer stays bounded. A HELLO from that peer afterwards opens a new session.
    /// </summary>
    private void EvictTombstone(ServerSession s, long now)
    {
        SessionSnapshot snap = s.Slot.Snapshot();
        if (snap.State == SessionState.Terminated && now - snap.LastTransitionMs > _policy.TombstoneTtlMs)
        {
            _sessions.ForgetId(s.Slot.Id);
            if (_sessions.RemoveIfCurrent(s))
            {
                // No session any more: the peer is a plain WireGuard peer again (roaming) until its next HELLO.
                s.Peer.AllowRoaming = true;
            }
        }
    }

    /// <summary>
    /// Replayed authenticated packets (e.g. a captured REATTACH_REQUEST resent from elsewhere) die in the
    /// WireGuard replay window before the session layer sees them, so they can never change a session;
    /// the sweep reports them as one rate-limited SECURITY_EVENT per sweep (docs/session-spec.md §2.5, TS8).
    /// </summary>
    private void ReportReplays(ServerSession s)
    {
        long drops = s.Peer.ReplayDrops;
        if (drops > s.ReportedReplays)
        {
            long fresh = drops - s.ReportedReplays;
            s.ReportedReplays = drops;
            _context.PublishLine("SECURITY_EVENT", s.Slot.Id, s.Slot.Snapshot().StateVersion, w =>
            {
                w.WriteString("violation_type", "REPLAY_DETECTED");
                w.WriteString("freshness_marker_type", "TRANSPORT_COUNTER");
                w.WriteNumber("count", fresh);
            });
        }
    }

    /// <summary>The server half of the sweep: server liveness and timers, tombstones, replay reports, then the ownership's part.</summary>
    public void Sweep(long now, List<AuditEvent> audit)
    {
        long nowNs = _context.Device.NowNs();
        // Enumerating the dictionary itself (not .Values, which copies all N) and reading each slot's
        // lock-free summary keeps an idle pass at a few ns per session; only sessions with a due
        // timer, a silent binding or fresh replay drops take their lock (docs/scaling.md).
        foreach (KeyValuePair<Peer, ServerSession> entry in _sessions.Entries)
        {
            ServerSession s = entry.Value;
            if (now < s.NextCheckMs && nowNs < s.NextTransportCheckNs)
            {
                continue;
            }
            EndQuietFloodEpisode(s, now);
            long lastRx = s.Peer.LastAuthenticatedRxNs;
            bool silent = s.Slot.WatchesTransport && lastRx != long.MinValue && (nowNs - lastRx) / 1_000_000 > SilenceLimitMs(s);
            bool removed = s.Peer.IsRemoved && !s.Slot.IsTerminated;
            if (!silent && !removed && now < s.Slot.NextDueMs && s.Peer.ReplayDrops == s.ReportedReplays)
            {
                ScheduleCheck(s, now, lastRx);
                continue;
            }
            if (_workers is { } workers)
            {
                // Its transitions commit through the store: the peer's worker runs them, and this pass goes
                // on to the other sessions (docs/threads.md "Control workers"). One item per session at a time.
                if (s.TryMarkSweepQueued() && !workers.TryEnqueueSweep(s))
                {
                    s.ClearSweepQueued(); // the shard is full: the next pass tries again
                }
                continue;
            }
            SweepDue(s, now, nowNs, audit);
        }
        _outsideTable.Clear();
        _ownership.CollectDue(now, _outsideTable);
        foreach (ServerSession s in _outsideTable)
        {
            if (_workers is { } workers)
            {
                if (s.TryMarkSweepQueued() && !workers.TryEnqueueSweep(s))
                {
                    s.ClearSweepQueued();
                }
                continue;
            }
            SweepDue(s, now, nowNs, audit);
        }
        _ownership.Sweep(now);
    }

    /// <summary>The sweep's list of sessions outside the table with due work (sweep thread only).</summary>
    private readonly List<ServerSession> _outsideTable = [];

    /// <summary>A control worker's sweep item: the session's due work, judged again at the worker's time.</summary>
    void IControlHandler.SweepDue(ServerSession session)
    {
        try
        {
            List<AuditEvent> audit = t_serverAudit ??= new List<AuditEvent>(8);
            SweepDue(session, _context.NowMs(), _context.Device.NowNs(), audit);
        }
        finally
        {
            session.ClearSweepQueued();
        }
    }

    /// <summary>
    /// The part of the sweep that changes a session: operator removal, transport_dead, the state machine's
    /// timers (each committed through the ownership), then replay reports, tombstone eviction and the next check.
    /// </summary>
    private void SweepDue(ServerSession s, long now, long nowNs, List<AuditEvent> audit)
    {
        long lastRx = s.Peer.LastAuthenticatedRxNs;
        bool silent = s.Slot.WatchesTransport && lastRx != long.MinValue && (nowNs - lastRx) / 1_000_000 > SilenceLimitMs(s);
        bool removed = s.Peer.IsRemoved && !s.Slot.IsTerminated;
        audit.Clear();
        if (removed)
        {
            // The operator removed the peer at run time (UAPI remove=true): its session ends.
            _ownership.Apply(s, SessionEvent.Internal(SessionEventKind.OperatorTerminate), now, audit);
        }
        else if (silent)
        {
            _ownership.Apply(s, SessionEvent.Internal(SessionEventKind.TransportDead), now, audit);
        }
        _ownership.Apply(s, SessionEvent.Tick(), now, audit);
        _sessions.Publish(audit);
        ReportReplays(s);
        EvictTombstone(s, now);
        ScheduleCheck(s, now, s.Peer.LastAuthenticatedRxNs);
    }

    /// <summary>
    /// When the sweep must look at <paramref name="s"/> again: its next timer (at most 1 s ahead, so
    /// replay reports and peer removal are noticed within a second), and, while it watches its binding,
    /// the moment the last authenticated packet becomes older than transport_dead (packets only move
    /// that later, so the session cannot go silent before it).
    /// </summary>
    private void ScheduleCheck(ServerSession s, long nowMs, long lastRxNs)
    {
        s.NextCheckMs = Math.Min(s.Slot.NextDueMs, nowMs + 1000);
        s.NextTransportCheckNs = s.Slot.WatchesTransport && lastRxNs != long.MinValue
            ? lastRxNs + ((SilenceLimitMs(s) + 1) * 1_000_000)
            : long.MaxValue;
    }

    /// <summary>
    /// How long a bound client may be silent before its transport counts as dead: transport_dead after
    /// the keepalive its idle schedule promised (docs/paths.md "Idle"). An idle client that announced
    /// a 25 s interval is not dead at 4 s; one that announced nothing keeps the plain transport_dead.
    /// </summary>
    private long SilenceLimitMs(ServerSession s) => _policy.TransportDeadMs + s.IdleAllowanceMs;
}
