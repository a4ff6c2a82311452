using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// One session's record behind its own lock: per-session mutation only, no global lock on the packet path
/// (docs/design.md §5). The lock makes each Apply the single atomic compare-and-commit of docs/session-spec.md §2.4 tier 5
/// for the in-memory store: two racing reattaches read and commit one after the other, so the second sees
/// the first's bound_at_version and is refused as STALE_STATE_VERSION (I3, I6).
/// </summary>
public sealed partial class SessionSlot
{
    private readonly Lock _lock = new();
    private readonly SessionRecord _record;

    private long _nextDueMs;
    private volatile bool _watchesTransport;
    private volatile bool _terminated;

    public SessionSlot(SessionId id, SessionPolicy policy, long nowMs, List<AuditEvent>? audit)
    {
        _record = SessionMachine.Create(id, policy, nowMs, audit);
        Cache();
    }

    public SessionId Id => _record.Id;

    /// <summary>
    /// Lock-free summary for the sweep (refreshed after every Apply): before this time a Tick cannot
    /// change the session (<see cref="SessionMachine.NextDeadlineMs"/>).
    /// </summary>
    public long NextDueMs => Volatile.Read(ref _nextDueMs);

    /// <summary>Whether the sweep's transport-dead check applies (bound and live).</summary>
    public bool WatchesTransport => _watchesTransport;

    public bool IsTerminated => _terminated;

    public SessionOutcome Apply(in SessionEvent e, long nowMs, List<AuditEvent>? audit)
    {
        lock (_lock)
        {
            SessionOutcome o = SessionMachine.Apply(_record, e, nowMs, audit);
            Cache();
            return o;
        }
    }

    private void Cache()
    {
        long due = SessionMachine.NextDeadlineMs(_record);
        // A commit in doubt is settled by the next input; the sweep supplies one (a Tick) at the retry time.
        Volatile.Write(ref _nextDueMs, _doubt is null ? due : Math.Min(due, _doubtRetryAtMs));
        _watchesTransport = SessionMachine.WatchesTransport(_record);
        _terminated = _record.State == SessionState.Terminated;
        PublishSummary();
    }

    public SessionSnapshot Snapshot()
    {
        lock (_lock)
        {
            return _record.Snapshot();
        }
    }

    /// <summary>
    /// Starts the transport-loss clock again for an unbound session whose client is talking to this node right now
    /// (docs/cluster.md "Transport loss in a cluster"): a cluster node that has not yet handed such a session back
    /// must not end it on the client's own request. Nothing else changes; the next commit (the reattach's T7) writes
    /// the record as it then is. False when the session is bound, ended, or its commit is in doubt.
    /// </summary>
    internal bool RestartTransportLossClock(long nowMs)
    {
        lock (_lock)
        {
            if (_doubt is not null || _record.Binding.HasValue || _record.UnboundSinceMs < 0
                || _record.State is not (SessionState.Recovering or SessionState.Degraded))
            {
                return false;
            }
            _record.UnboundSinceMs = nowMs;
            Cache();
            return true;
        }
    }

    /// <summary>
    /// Binding rule (docs/design.md §2.2) under the slot's lock: whether authenticated traffic from
    /// <paramref name="observed"/> deserves a REBIND_HINT now (rate-limited per session), and what to put in it.
    /// </summary>
    /// <remarks>
    /// Never waits: the receive thread calls it, and in a cluster the lock may be held across a store commit
    /// (docs/threads.md "Control workers"). A busy slot sends no hint now; the next packet from that address asks again.
    /// </remarks>
    public bool TryTakeRebindHint(TransportAddress observed, long nowMs, out ulong stateVersion)
    {
        stateVersion = 0;
        if (!_lock.TryEnter())
        {
            return false;
        }
        try
        {
            stateVersion = _record.StateVersion;
            return SessionMachine.ShouldSendRebindHint(_record, observed, nowMs);
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <summary>
    /// Applies a KEEPALIVE or PATH_PROBE without waiting and without a store commit, for the receive thread
    /// of a cluster node (docs/threads.md "Control workers"). Those inputs never transition by themselves; they
    /// would only fire a due timer, whose transition must go through the store. So: false, and nothing
    /// changed, when the slot is busy (a commit in flight elsewhere) or a timer is due at
    /// <paramref name="nowMs"/>; the caller then hands the frame to a control worker.
    /// </summary>
    public bool TryApplyUncommitted(in SessionEvent e, long nowMs, List<AuditEvent>? audit, out SessionOutcome outcome)
    {
        if (e.Kind is not (SessionEventKind.Keepalive or SessionEventKind.PathProbe))
        {
            throw new ArgumentException("only KEEPALIVE and PATH_PROBE apply without a commit", nameof(e));
        }
        outcome = default;
        if (!_lock.TryEnter())
        {
            return false;
        }
        try
        {
            if (SessionMachine.NextDeadlineMs(_record) <= nowMs)
            {
                return false;
            }
            outcome = SessionMachine.Apply(_record, e, nowMs, audit);
            Cache();
            return true;
        }
        finally
        {
            _lock.Exit();
        }
    }
}
