using System.Collections.Concurrent;
using System.Net;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// Session ownership on a cluster node (docs/design.md §6, docs/session-spec.md §5.2.3, docs/cluster.md "Failover").
/// Every committed transition of a server session is compare-and-swapped into the shared store under this
/// node's current incarnation before it counts (<see cref="SessionSlot.ApplyCommitted"/>); a node serves a
/// session (answers its control frames and forwards its traffic) only while that incarnation is valid, and
/// self-fences otherwise. A HELLO or REATTACH for a session this node does not hold is answered from the
/// store: the node acquires ownership once the owner's node is judged dead (its heartbeat did not change for
/// NodeTtl on this node's clock), or at once when it was released or is this node's own older incarnation,
/// continues the session with the same id, versions and inner address (T4 TRANSPORT_DEAD detail
/// OWNER_FAILOVER, then the reattach's T7), and otherwise refuses with NOT_AUTHORITATIVE_OWNER (retry after the
/// time the owner would be judged dead) or STORE_UNAVAILABLE.
/// The data plane follows ownership through the allowed-IPs table: a peer's inner addresses are routed to
/// it only while this node owns its session, so a restarted or fenced node cannot forward for it.
/// </summary>
internal sealed class ClusterOwnership : ISessionOwnership
{
    private readonly NodeContext _context;
    private readonly ServerSessionTable _sessions;
    private readonly ClusterCoordinator _cluster;
    private readonly IReadOnlyDictionary<Peer, IReadOnlyList<IpPrefix>> _innerPrefixes;
    private readonly OwnerRouteHooks? _ownerHooks;

    /// <summary>
    /// Added to a live owner's time-to-death in retry_after_ms, so the retry does not arrive a moment too early.
    /// Small: the time-to-death is exact on this node's clock, the retry crosses the network twice before it is
    /// judged, and the client sweeps every 50 ms (docs/cluster.md "Client failover").
    /// </summary>
    private const long RetrySlackMs = 20;

    public ClusterOwnership(NodeContext context, ServerSessionTable sessions, ClusterCoordinator cluster,
        IReadOnlyDictionary<Peer, IReadOnlyList<IpPrefix>> innerPrefixes, OwnerRouteHooks? hooks)
    {
        _context = context;
        _sessions = sessions;
        _cluster = cluster;
        _innerPrefixes = innerPrefixes;
        _ownerHooks = hooks;
        cluster.OnFenced = FenceNow;
        cluster.Expiry = RecordExpiry.For(context.Policy);
        cluster.OnReaped = PublishReaped;
    }

    /// <summary>
    /// Every record this node's sweep ended gets its audit line here (docs/cluster.md "Record expiry"), with the version
    /// the tombstone holds, so the merged audit logs still have every version the store held.
    /// </summary>
    private void PublishReaped(IReadOnlyList<OwnershipRecord> ended)
    {
        foreach (OwnershipRecord r in ended)
        {
            _context.PublishLine("SESSION_EXPIRED", r.Id, r.StateVersion, w =>
            {
                w.WriteString("owner_node_id", r.OwnerNode);
                w.WriteNumber("owner_node_epoch", r.OwnerNodeEpoch);
                w.WriteString("swept_by_node_id", _cluster.NodeId);
                w.WriteString("detail_code", WireNames.Of(r.LastReason));
            });
        }
    }

    /// <summary>
    /// The node just fenced itself (its validity ran out, or the store names a newer incarnation of it): every session
    /// it served stops forwarding now, on the thread that noticed, instead of at the next sweep (docs/cluster.md
    /// "Fence margin"). No store call: the allowed-IPs entries go, the local copies are dropped, `OwnerDown` is queued.
    /// </summary>
    private void FenceNow()
    {
        long now = _cluster.NowMs();
        foreach (ServerSession s in _sessions.Sessions)
        {
            if (_cluster.TryGetOwned(s.Slot.Id, out OwnedSession owned) && !owned.IsValid(now))
            {
                FenceSession(s, owned.Lost ? "OWNERSHIP_LOST" : "NODE_FENCED");
            }
        }
    }

    public ClusterCoordinator Coordinator => _cluster;

    /// <summary>Fail closed before any session exists: server-role peers are not routed until this node owns their session.</summary>
    public void UnrouteServerPeers(Func<Peer, bool> isClientRole)
    {
        foreach (Peer peer in _context.Device.Peers)
        {
            if (!isClientRole(peer))
            {
                _context.Device.AllowedIps.RemoveAll(peer);
            }
        }
    }

    /// <summary>
    /// Sessions this node handed back to the cluster when their transport-loss TTL ran out here, with when (docs/cluster.md
    /// "Transport loss in a cluster"): released in the store, no longer served here, ended by this node only if nobody
    /// continued them within another transport_lost_ttl.
    /// </summary>
    private readonly ConcurrentDictionary<SessionId, (ServerSession Session, long ReleasedAtMs)> _handedBack = new();

    /// <summary>Applies an input to a server session only through the store and only while this node's incarnation is valid.</summary>
    public SessionOutcome Apply(ServerSession s, in SessionEvent e, long now, List<AuditEvent> audit)
    {
        if (e.Kind == SessionEventKind.Tick && _handedBack.TryGetValue(s.Slot.Id, out (ServerSession Session, long ReleasedAtMs) back) && ReferenceEquals(back.Session, s))
        {
            return EndHandedBack(s, back.ReleasedAtMs, now, audit);
        }
        if (!_cluster.TryGetOwned(s.Slot.Id, out OwnedSession owned) || !owned.IsValid(now))
        {
            return new SessionOutcome(SessionOutcomeKind.Rejected, ReasonCode.NotAuthoritativeOwner, s.Slot.Snapshot().StateVersion, 0, 0);
        }
        if (!s.Slot.InDoubt && TransportLossRanOut(s.Slot.Snapshot(), s.Slot.Policy.TransportLostTtlMs, now))
        {
            if (e.Kind == SessionEventKind.Tick)
            {
                return HandBack(s, owned, now);
            }
            if (e.Kind is SessionEventKind.ReattachRequest or SessionEventKind.Keepalive or SessionEventKind.PathProbe)
            {
                // The client is here, asking, before the sweep's hand-back got to the session (a busy control worker):
                // its own input must not fire T11. Handing back and taking it again at once would come to the same
                // (a released record continues with a fresh clock, Adopt) at two store writes more.
                s.Slot.RestartTransportLossClock(now);
            }
        }
        return s.Slot.ApplyCommitted(e, now, audit, owned);
    }

    /// <summary>Whether T11 (transport-loss TTL) is what the next Tick would fire.</summary>
    private static bool TransportLossRanOut(in SessionSnapshot snap, long ttlMs, long now) =>
        snap.Binding is null && snap.State is SessionState.Recovering or SessionState.Degraded
        && snap.UnboundSinceMs >= 0 && now - snap.UnboundSinceMs > ttlMs;

    /// <summary>
    /// The client has not come back *here* for transport_lost_ttl; in a cluster that does not mean it is gone: while
    /// this node is alive every other node refuses the client (NOT_AUTHORITATIVE_OWNER), and a client that left a
    /// slow node may be cycling through the others (docs/cluster.md "Transport loss in a cluster"). So the session is
    /// released in the store, which lets the next node the client reaches continue it at once, and stops here.
    /// </summary>
    private SessionOutcome HandBack(ServerSession s, OwnedSession owned, long now)
    {
        SessionId id = s.Slot.Id;
        SessionSnapshot snap = s.Slot.Snapshot();
        StoreResult r = _cluster.Store.Release(id, _cluster.NodeId, owned.NodeEpoch, owned.Epoch);
        _cluster.CountStoreResult(r.Status);
        if (r.Status == StoreStatus.Unavailable)
        {
            // Releasing again is harmless if this one landed: the next Tick asks again.
            return new SessionOutcome(SessionOutcomeKind.Rejected, ReasonCode.StoreUnavailable, snap.StateVersion, 0, 0);
        }
        if (r.Status != StoreStatus.Ok)
        {
            owned.MarkLost();
            FenceSession(s, "OWNERSHIP_LOST");
            return new SessionOutcome(SessionOutcomeKind.Rejected, ReasonCode.OwnershipConflict, snap.StateVersion, 0, 0);
        }
        _cluster.Forget(id, release: false);
        _sessions.ForgetId(id);
        _sessions.RemoveIfCurrent(s);
        if (!_sessions.Contains(s.Peer))
        {
            _context.Device.AllowedIps.RemoveAll(s.Peer);
        }
        _ownerHooks?.Down(id.ToString(), InnerOf(s.Peer));
        _handedBack[id] = (s, now);
        _context.PublishLine("SESSION_RELEASED", id, snap.StateVersion, w =>
        {
            w.WriteString("owner_node_id", _cluster.NodeId);
            w.WriteString("detail_code", WireNames.Of(ReasonCode.TransportLossTtlExpired));
        });
        return new SessionOutcome(SessionOutcomeKind.Accepted, ReasonCode.None, snap.StateVersion, 0, 0);
    }

    /// <summary>
    /// A handed-back session nobody continued within another transport_lost_ttl: its client is gone, so this node takes it
    /// again (allowed at once: released) and ends it (T11), as a single server would have; a record another node
    /// continued, or that changed, is not this node's to end.
    /// </summary>
    private SessionOutcome EndHandedBack(ServerSession s, long releasedAtMs, long now, List<AuditEvent> audit)
    {
        SessionId id = s.Slot.Id;
        SessionSnapshot snap = s.Slot.Snapshot();
        var idle = new SessionOutcome(SessionOutcomeKind.Accepted, ReasonCode.None, snap.StateVersion, 0, 0);
        if (now - releasedAtMs <= s.Slot.Policy.TransportLostTtlMs || !_cluster.IsValid(_cluster.NodeEpoch, now))
        {
            return idle;
        }
        StoreResult read = _cluster.Read(id);
        if (read.Status == StoreStatus.Unavailable)
        {
            return idle; // asked again at the next sweep
        }
        _handedBack.TryRemove(id, out _);
        OwnershipRecord? rec = read.Current;
        if (!read.IsOk || rec is null || !rec.Released || !string.Equals(rec.OwnerNode, _cluster.NodeId, StringComparison.Ordinal) || rec.StateVersion != snap.StateVersion)
        {
            return idle;
        }
        StoreResult acq = _cluster.Acquire(id, AcquireExpectation.Of(rec, default), ToStore, out OwnedSession? owned);
        if (acq.Status == StoreStatus.Unavailable)
        {
            _handedBack[id] = (s, releasedAtMs);
            return idle;
        }
        if (!acq.IsOk || owned is null)
        {
            return idle;
        }
        SessionOutcome ended = s.Slot.ApplyCommitted(SessionEvent.Tick(), now, audit, owned);
        if (s.Slot.IsTerminated)
        {
            _cluster.Forget(id, release: false);
        }
        else if (!s.Slot.InDoubt)
        {
            _cluster.Forget(id, release: true); // nothing ended it (the store refused): handed back as it was
        }
        else
        {
            _handedBack[id] = (s, releasedAtMs); // its end is in doubt: settled at the next sweep
        }
        return ended;
    }

    /// <summary>Handed-back sessions whose second transport_lost_ttl ran out (the sweep gives them to their worker).</summary>
    public void CollectDue(long now, List<ServerSession> due)
    {
        foreach (KeyValuePair<SessionId, (ServerSession Session, long ReleasedAtMs)> e in _handedBack)
        {
            if (now - e.Value.ReleasedAtMs > e.Value.Session.Slot.Policy.TransportLostTtlMs)
            {
                due.Add(e.Value.Session);
            }
        }
    }

    /// <summary>
    /// Runs before a server frame is handled: drops a session this node may no longer serve, and for a
    /// HELLO/REATTACH naming a session this node does not hold, continues it from the store. False when the
    /// frame was answered here (a refusal) or must stay unanswered.
    /// </summary>
    public bool Admit(Peer peer, ref ServerSession? s, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now, List<AuditEvent> audit)
    {
        ClusterCoordinator cluster = _cluster;
        if (s is not null && (!cluster.TryGetOwned(s.Slot.Id, out OwnedSession held) || !held.IsValid(now)))
        {
            FenceSession(s, held is null ? "NOT_OWNED" : held.Lost ? "OWNERSHIP_LOST" : "NODE_FENCED");
            s = null;
        }
        if (s is null && Draining)
        {
            // A draining node takes nothing on (docs/cluster.md "Drain"): silent, so the client's own
            // failover or the SESSION_MOVE it gets sends it to another node.
            return false;
        }
        SessionId wanted;
        ulong ctrlSeq;
        if (type == ControlFrameType.Hello && HelloFrame.TryParse(frame, out HelloFrame hello) && hello.IsResume)
        {
            wanted = hello.ResumeSessionId;
            ctrlSeq = hello.CtrlSeq;
        }
        else if (type == ControlFrameType.ReattachRequest && ReattachRequestFrame.TryParse(frame, out ReattachRequestFrame req))
        {
            wanted = req.SessionId;
            ctrlSeq = req.CtrlSeq;
        }
        else
        {
            // KEEPALIVE, PATH_PROBE, TERMINATE: answered only for a session this node serves, so a fenced
            // node goes silent and the client's liveness check moves it on (self-fencing, §5.2.3).
            return s is not null || type == ControlFrameType.Hello;
        }
        if (s is not null && s.Slot.Id == wanted)
        {
            return true;
        }
        if (Draining)
        {
            return false;
        }
        ServerSession? adopted = Adopt(peer, wanted, now, audit, out ReasonCode refused, out uint retryAfterMs, out ulong version);
        if (adopted is not null)
        {
            s = adopted;
            return true;
        }
        Span<byte> reply = stackalloc byte[128];
        int n = new ReattachRejectFrame(wanted, ctrlSeq, version, refused, retryAfterMs).Write(reply);
        _sessions.Publish(audit);
        _context.Device.SendControl(peer, reply[..n], EndpointCodec.Copy(from));
        _context.PublishLine("REATTACH_RESULT", wanted, version, w =>
        {
            w.WriteString("status", "DENIED");
            w.WriteString("reason_code", WireNames.Of(refused));
            w.WriteNumber("retry_after_ms", retryAfterMs);
        });
        _context.Metrics?.ReattachRejected(WireNames.Of(refused));
        return false;
    }

    /// <summary>
    /// Continues a session from the store on this node (docs/cluster.md "Failover"): read, check that the asking
    /// peer is the session's peer, judge the owning incarnation (<see cref="ClusterCoordinator.Judge"/>), acquire
    /// (owner_epoch + 1) conditioned on the record and on the owner's heartbeat being the one judged stale,
    /// restore the record, and declare the old binding dead (T4, detail OWNER_FAILOVER) through the store.
    /// </summary>
    private ServerSession? Adopt(Peer peer, SessionId id, long now, List<AuditEvent> audit, out ReasonCode refused, out uint retryAfterMs, out ulong version)
    {
        ClusterCoordinator cluster = _cluster;
        retryAfterMs = 0;
        version = 0;
        StoreResult read = cluster.Read(id);
        MoveTrace.Step(_context, "target.store_read", id);
        refused = Refusal(read);
        if (refused != ReasonCode.None)
        {
            retryAfterMs = refused == ReasonCode.StoreUnavailable ? (uint)cluster.BeatEveryMs : 0u;
            return null;
        }
        OwnershipRecord rec = read.Current!;
        version = rec.StateVersion;
        if (!string.Equals(rec.PeerKey, Convert.ToBase64String(peer.PublicKey), StringComparison.Ordinal))
        {
            // Another peer's session id: never resumable from this key (session fixation, TS12).
            _context.PublishLine("SECURITY_EVENT", id, rec.StateVersion, w => w.WriteString("violation_type", "OWNERSHIP_ANOMALY"));
            refused = ReasonCode.SessionNotFound;
            return null;
        }
        if (rec.State is SessionState.Terminated or SessionState.Birth)
        {
            refused = rec.State == SessionState.Terminated ? ReasonCode.SessionTerminated : ReasonCode.SessionNotFound;
            return null;
        }
        LivenessVerdict verdict = cluster.Judge(rec);
        OwnedSession? owned = null;
        StoreResult acq = verdict.Kind == LivenessKind.Dead
            ? cluster.Acquire(id, AcquireExpectation.Of(rec, verdict.StaleBeat), ToStore, out owned)
            : new StoreResult(StoreStatus.OwnerAlive, rec, read.StoreNowUnixMs);
        if (acq.Status == StoreStatus.OwnerAlive)
        {
            // Alive (or not listed yet) on this node's clock: retry when it would be judged dead. Judged dead
            // but the store holds a newer beat than the one judged: the owner is alive, ask again a beat later.
            long wait = verdict.Kind == LivenessKind.Dead ? cluster.BeatEveryMs : verdict.RetryAfterMs + RetrySlackMs;
            refused = ReasonCode.NotAuthoritativeOwner;
            uint retry = (uint)Math.Clamp(wait, 0, int.MaxValue);
            retryAfterMs = retry;
            OwnershipRecord cur = acq.Current!;
            _context.PublishLine("SESSION_OWNER_REJECTED", id, cur.StateVersion, w =>
            {
                w.WriteString("owner_node_id", cur.OwnerNode);
                w.WriteNumber("owner_node_epoch", cur.OwnerNodeEpoch);
                w.WriteNumber("owner_epoch", cur.OwnerEpoch);
                w.WriteNumber("retry_after_ms", retry);
            });
            return null;
        }
        MoveTrace.Step(_context, "target.store_acquire", id, detail: acq.Status.ToString());
        refused = Refusal(acq);
        if (refused != ReasonCode.None || owned is null)
        {
            return null;
        }
        rec = acq.Current!;
        long offset = _context.WallOffsetMs();
        // The record passed StoreRecordCheck (ClusterCoordinator.Checked); TryParse keeps the receive thread
        // free of exceptions whatever the store holds.
        TransportAddress? binding = rec.Binding.Length > 0 && TransportAddress.TryParse(rec.Binding, out TransportAddress b) ? b : null;
        // A released record was handed back (a drain, or transport loss on its owner, "Transport loss in a cluster"):
        // its client is here now, so the transport-loss clock starts again instead of ending the session at once.
        long unboundSince = read.Current!.Released || rec.UnboundSinceUnixMs < 0 ? now : rec.UnboundSinceUnixMs - offset;
        _handedBack.TryRemove(id, out _);
        SessionRecord restored = SessionRecord.Restore(id, _context.Policy, rec.CreatedUnixMs - offset, rec.State, rec.StateVersion, rec.BoundAtVersion,
            binding, unboundSince, rec.TotalSwitches, rec.CtrlSeqHighWater, rec.LastReason, now);
        var session = new ServerSession(peer, new SessionSlot(restored));
        if (_sessions.TryGet(peer, out ServerSession? previous))
        {
            _sessions.ForgetId(previous.Slot.Id);
            cluster.Forget(previous.Slot.Id, release: true); // the client moved on to the session it named
        }
        _sessions.Put(peer, session);
        // Forwarding starts as soon as this node owns the session in the store (the acquire), not after the
        // T4 commit that follows: ownership is what allows forwarding, and that commit is a store round trip
        // the client's traffic would otherwise wait for (docs/cluster.md "Drain"). If the commit is refused,
        // the fence below stops forwarding again.
        Unfence(session, owned);
        MoveTrace.Step(_context, "target.forwarding", id);
        bool transferred = rec.OwnerEpoch > 1 && acq.PreviousOwner.Length > 0 && !string.Equals(acq.PreviousOwner, cluster.NodeId, StringComparison.Ordinal);
        _context.PublishLine(transferred ? "SESSION_OWNER_TRANSFERRED" : "SESSION_OWNER_ACQUIRED", id, rec.StateVersion, w =>
        {
            w.WriteString("owner_node_id", cluster.NodeId);
            w.WriteNumber("owner_node_epoch", rec.OwnerNodeEpoch);
            w.WriteNumber("owner_epoch", rec.OwnerEpoch);
            w.WriteString("previous_owner_node_id", acq.PreviousOwner);
        });
        if (binding.HasValue)
        {
            // The old binding pointed at the dead node: T4 with detail OWNER_FAILOVER, its own version.
            SessionOutcome dead = session.Slot.ApplyCommitted(SessionEvent.Internal(SessionEventKind.TransportDead) with { Reason = ReasonCode.OwnerFailover }, now, audit, owned);
            MoveTrace.Step(_context, "target.commit_owner_failover", id);
            if (dead.IsRejected && session.Slot.InDoubt)
            {
                // The store's answer was lost and the T4 may have landed (docs/cluster.md "In-doubt commits"). The
                // acquire answered, so the session is this node's: it stays unfenced (forwarding began at the acquire
                // above), and the client's retry settles the doubt before anything else changes it.
                refused = ReasonCode.StoreUnavailable;
                retryAfterMs = (uint)cluster.BeatEveryMs;
                return null;
            }
            if (dead.IsRejected)
            {
                FenceSession(session, "COMMIT_REFUSED");
                refused = dead.Reason;
                return null;
            }
        }
        return session;
    }

    private static ReasonCode Refusal(StoreResult r) => r.Status switch
    {
        StoreStatus.Ok => ReasonCode.None,
        StoreStatus.Unavailable => ReasonCode.StoreUnavailable,
        StoreStatus.NotFound => ReasonCode.SessionNotFound,
        StoreStatus.OwnerAlive => ReasonCode.NotAuthoritativeOwner,
        StoreStatus.Malformed => ReasonCode.SessionNotFound,
        _ => ReasonCode.OwnershipConflict,
    };

    /// <summary>
    /// First write of a new session (owner_epoch 1, this node's incarnation). False when the store did not take it: the
    /// session must not exist (the HELLO is refused with STORE_UNAVAILABLE).
    /// </summary>
    public bool TryCreate(Peer peer, ServerSession? replaced, SessionSlot slot)
    {
        ClusterCoordinator cluster = _cluster;
        if (Draining)
        {
            return false; // no new sessions on a node about to leave
        }
        string inner = InnerOf(peer);
        string key = Convert.ToBase64String(peer.PublicKey);
        OwnershipRecord rec = slot.Read(r => Build(r, key, inner, cluster.NodeId, 0, 0));
        StoreResult r = cluster.Create(rec, ToStore, out OwnedSession? owned);
        if (!r.IsOk || owned is null)
        {
            return false;
        }
        if (replaced is not null)
        {
            cluster.Forget(replaced.Slot.Id, release: true);
        }
        _context.PublishLine("SESSION_OWNER_ACQUIRED", slot.Id, rec.StateVersion, w =>
        {
            w.WriteString("owner_node_id", cluster.NodeId);
            w.WriteNumber("owner_node_epoch", owned.NodeEpoch);
            w.WriteNumber("owner_epoch", r.Current!.OwnerEpoch);
        });
        _ownerHooks?.Up(slot.Id.ToString(), inner);
        Unfence(null, owned, peer);
        return true;
    }

    /// <summary>
    /// Sweep part (every 50 ms, docs/threads.md): fence the node itself once its validity passed, then
    /// self-fence sessions that were lost or whose incarnation is no longer valid; forget tombstones.
    /// </summary>
    public void Sweep(long now)
    {
        ClusterCoordinator cluster = _cluster;
        cluster.CheckFence(now);
        foreach (ServerSession s in _sessions.Sessions)
        {
            if (!cluster.TryGetOwned(s.Slot.Id, out OwnedSession owned))
            {
                continue;
            }
            if (owned.Lost)
            {
                FenceSession(s, "OWNERSHIP_LOST");
            }
            else if (!owned.IsValid(now))
            {
                FenceSession(s, "NODE_FENCED");
            }
            else if (s.Slot.IsTerminated) // lock-free: a worker may hold the slot's lock across a slow store call
            {
                // The store keeps the tombstone (with its own expiry); nothing left to own.
                cluster.Forget(s.Slot.Id, release: false);
                _context.Device.AllowedIps.RemoveAll(s.Peer);
            }
        }
    }

    /// <summary>
    /// Self-fence (docs/session-spec.md §5.2.3): stop forwarding (the peer's inner addresses leave the allowed-IPs
    /// table) and answering for the session; the local copy is dropped, the store's stays authoritative.
    /// </summary>
    private void FenceSession(ServerSession s, string why)
    {
        _sessions.ForgetId(s.Slot.Id);
        _sessions.RemoveIfCurrent(s);
        if (!_sessions.Contains(s.Peer))
        {
            _context.Device.AllowedIps.RemoveAll(s.Peer);
        }
        bool lost = _cluster.TryGetOwned(s.Slot.Id, out OwnedSession owned) && owned.Lost;
        _cluster.Forget(s.Slot.Id, release: false);
        SessionSnapshot snap = s.Slot.Snapshot();
        if (snap.State == SessionState.Terminated)
        {
            return;
        }
        _ownerHooks?.Down(s.Slot.Id.ToString(), InnerOf(s.Peer));
        _context.PublishLine(lost ? "SESSION_OWNER_CONFLICT" : "SESSION_FENCED", s.Slot.Id, snap.StateVersion, w =>
        {
            w.WriteString("owner_node_id", _cluster.NodeId);
            w.WriteString("detail_code", why);
        });
    }

    /// <summary>Set once the node starts draining (docs/cluster.md "Drain"): no session is created or adopted here from then on.</summary>
    public bool Draining
    {
        get => Volatile.Read(ref _draining);
        set => Volatile.Write(ref _draining, value);
    }

    private bool _draining;

    /// <summary>The sessions this node serves now: owned under the current node epoch and not TERMINATED (what a drain moves).</summary>
    public List<ServerSession> HeldSessions(long now)
    {
        var held = new List<ServerSession>();
        foreach (ServerSession s in _sessions.Sessions)
        {
            if (_cluster.TryGetOwned(s.Slot.Id, out OwnedSession owned) && owned.IsValid(now) && s.Slot.Snapshot().State != SessionState.Terminated)
            {
                held.Add(s);
            }
        }
        return held;
    }

    /// <summary>
    /// Hands sessions back for a drain (docs/cluster.md "Drain"): releases them in the store in one batch
    /// (<see cref="ISessionStore.ReleaseMany"/>, pipelined) so the nodes their clients go to can acquire them at
    /// once, and stops answering each here. It keeps forwarding their traffic (make-before-break: the client keeps
    /// sending through this node while it handshakes with its new one) until the drain calls
    /// <see cref="StopForwardingDrained"/>; it commits nothing for them any more. Replies this node forwards after
    /// the client switched still decrypt there (the previous keypair) and are delivered: a cluster client does
    /// not roam (docs/cluster.md "Client failover"). Returns the store's answer per session, in order.
    /// </summary>
    public StoreStatus[] ReleaseForDrain(IReadOnlyList<(ServerSession Session, string Target)> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var statuses = new StoreStatus[batch.Count];
        var requests = new List<ReleaseRequest>(batch.Count);
        var slots = new List<int>(batch.Count);
        for (int i = 0; i < batch.Count; i++)
        {
            SessionId id = batch[i].Session.Slot.Id;
            statuses[i] = StoreStatus.OwnershipConflict; // a session not held any more has nothing to release
            if (_cluster.TryGetOwned(id, out OwnedSession owned) && !owned.Lost)
            {
                requests.Add(new ReleaseRequest(id, _cluster.NodeId, owned.NodeEpoch, owned.Epoch));
                slots.Add(i);
            }
            _cluster.Forget(id, release: false);
        }
        if (requests.Count > 0)
        {
            IReadOnlyList<StoreResult> results = _cluster.Store.ReleaseMany(requests);
            for (int j = 0; j < slots.Count; j++)
            {
                StoreStatus status = j < results.Count ? results[j].Status : StoreStatus.Unavailable;
                _cluster.CountStoreResult(status);
                statuses[slots[j]] = status;
            }
        }
        for (int i = 0; i < batch.Count; i++)
        {
            (ServerSession s, string target) = batch[i];
            StoreStatus released = statuses[i];
            _sessions.ForgetId(s.Slot.Id);
            _sessions.RemoveIfCurrent(s);
            SessionSnapshot snap = s.Slot.Snapshot();
            _context.PublishLine("SESSION_DRAINED", s.Slot.Id, snap.StateVersion, w =>
            {
                w.WriteString("owner_node_id", _cluster.NodeId);
                w.WriteString("target_node_id", target);
                w.WriteString("release", released == StoreStatus.Ok ? "OK" : released.ToString());
            });
        }
        return statuses;
    }

    /// <summary>
    /// The end of a drained session's make-before-break (docs/cluster.md "Drain"): its client was seen on another
    /// node, or the drain gave up on it or ended. Forwarding stops (allowed IPs removed, `OwnerDown`).
    /// </summary>
    public void StopForwardingDrained(ServerSession s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!_sessions.Contains(s.Peer))
        {
            _context.Device.AllowedIps.RemoveAll(s.Peer);
        }
        _ownerHooks?.Down(s.Slot.Id.ToString(), InnerOf(s.Peer));
    }

    private void Unfence(ServerSession? s, OwnedSession owned, Peer? peer = null)
    {
        Peer p = peer ?? s!.Peer;
        p.AllowRoaming = false; // jvpn peers never rebind implicitly (docs/design.md §2.2)
        _context.Device.AllowedIps.RemoveAll(p);
        if (_innerPrefixes.TryGetValue(p, out IReadOnlyList<IpPrefix>? prefixes))
        {
            foreach (IpPrefix prefix in prefixes)
            {
                _context.Device.AddAllowedIp(p, prefix);
            }
        }
        if (s is not null)
        {
            _ownerHooks?.Up(s.Slot.Id.ToString(), owned.InnerAddresses.Length > 0 ? owned.InnerAddresses : InnerOf(p));
        }
    }

    private string InnerOf(Peer peer) =>
        _innerPrefixes.TryGetValue(peer, out IReadOnlyList<IpPrefix>? prefixes) ? string.Join(',', prefixes) : "";

    private OwnershipRecord ToStore(SessionRecord r, OwnedSession owned) => Build(r, owned.PeerKey, owned.InnerAddresses, _cluster.NodeId, owned.NodeEpoch, owned.Epoch);

    /// <summary>The store's copy of a record: monotonic times become Unix ms (node clocks do not cross machines).</summary>
    private OwnershipRecord Build(SessionRecord r, string peerKey, string inner, string node, ulong nodeEpoch, ulong epoch)
    {
        long offset = _context.WallOffsetMs();
        return new OwnershipRecord
        {
            Id = r.Id,
            PeerKey = peerKey,
            OwnerNode = node,
            OwnerNodeEpoch = nodeEpoch,
            OwnerEpoch = epoch,
            State = r.State,
            StateVersion = r.StateVersion,
            BoundAtVersion = r.BoundAtVersion,
            Binding = r.Binding is { } b ? b.ToString() : "",
            InnerAddresses = inner,
            PolicyVersion = r.Policy.Version,
            CreatedUnixMs = r.CreatedMs + offset,
            UnboundSinceUnixMs = r.UnboundSinceMs >= 0 ? r.UnboundSinceMs + offset : -1,
            TotalSwitches = r.TotalSwitches,
            CtrlSeqHighWater = r.CtrlSeqHighWater,
            LastReason = r.LastReason,
        };
    }
}
