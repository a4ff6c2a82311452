using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// The server-authoritative session FSM of docs/design.md §3 / docs/session-spec.md §1.4-1.7 as a pure function of
/// (record, event, policy snapshot, now): no clock, no randomness, no I/O (I7). Every transition adds
/// exactly 1 to state_version and appends exactly one STATE_CHANGE carrying one reason code; rejections
/// never change the version. Audit events go to a caller-owned list (null: not recorded).
/// </summary>
public static partial class SessionMachine
{
    /// <summary>docs/session-spec.md §1.7: wrap is forbidden; at 2^63 the session is ended with FATAL_PROTOCOL_ERROR (T18).</summary>
    internal const ulong MaxStateVersion = 1UL << 63;

    /// <summary>A new record in BIRTH, version 0 (S15), with its SESSION_CREATED event.</summary>
    public static SessionRecord Create(SessionId id, SessionPolicy policy, long nowMs, List<AuditEvent>? audit)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (id.IsNone)
        {
            throw new ArgumentException("a session id must not be all zero (that means 'no session' on the wire)", nameof(id));
        }
        var r = new SessionRecord(id, policy, nowMs);
        audit?.Add(Base(r, AuditEventType.SessionCreated, nowMs) with { NewState = SessionState.Birth });
        return r;
    }

    /// <summary>
    /// Applies one input at <paramref name="nowMs"/>. Order (docs/session-spec.md §1.5): unauthenticated peer input
    /// is refused before anything else runs (I15); then due timers fire, each as its own transition, in the
    /// priority order of §1.5; then the input itself.
    /// </summary>
    public static SessionOutcome Apply(SessionRecord record, in SessionEvent e, long nowMs, List<AuditEvent>? audit)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (e.Kind == SessionEventKind.ReattachRequest)
        {
            // Has its own tier order (§2.4): read-only tiers run before the authentication check.
            return ApplyReattach(record, e, nowMs, audit);
        }
        if (e.IsFromPeer && !e.Authenticated)
        {
            audit?.Add(Security(record, nowMs, ReasonCode.AuthFail));
            return Reject(record, ReasonCode.AuthFail, 0, 0);
        }

        int fired = FireDueTimers(record, nowMs, audit);
        if (e.Kind == SessionEventKind.Tick)
        {
            return new SessionOutcome(fired > 0 ? SessionOutcomeKind.Transitioned : SessionOutcomeKind.Accepted, fired > 0 ? record.LastReason : ReasonCode.None, record.StateVersion, 0, fired);
        }
        if (record.State == SessionState.Terminated)
        {
            return Reject(record, ReasonCode.SessionTerminated, 0, fired);
        }

        SessionState s = record.State;
        bool bound = record.Binding.HasValue;
        switch (e.Kind)
        {
            case SessionEventKind.HandshakeConfirmed when s == SessionState.Birth:
                // T1: bind the observed source; bound_at_version = 1.
                if (e.CtrlSeq != 0)
                {
                    record.CtrlSeq.Accept(e.CtrlSeq);
                }
                record.Binding = e.Source;
                Transition(record, SessionState.Attached, ReasonCode.HandshakeOk, ReasonCode.None, nowMs, audit);
                record.BoundAtVersion = record.StateVersion;
                audit?.Add(Base(record, AuditEventType.TransportAttached, nowMs) with { NewTransport = e.Source });
                return Done(record, fired);

            case SessionEventKind.QualityViolation when s == SessionState.Attached:
                // T3.
                record.VolatileSinceMs = nowMs;
                Transition(record, SessionState.Volatile, ReasonCode.QualityThresholdExceeded, e.Reason, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.QualityViolation when s is SessionState.Volatile or SessionState.Degraded:
            case SessionEventKind.StabilityRestored when s == SessionState.Attached:
                // Telemetry-only no-ops (docs/session-spec.md §1.4 "No-ops").
                return Accepted(record, fired);

            case SessionEventKind.StabilityRestored when s == SessionState.Volatile:
                // T5: same binding, so VOLATILE -> ATTACHED directly is safe (S10).
                record.VolatileSinceMs = -1;
                Transition(record, SessionState.Attached, ReasonCode.HealthRecovered, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.StabilityRestored when s == SessionState.Degraded && bound:
                // T10.
                record.DegradedSinceMs = -1;
                Transition(record, SessionState.Attached, ReasonCode.ExitDegradedMode, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.TransportDead when s is SessionState.Attached or SessionState.Volatile || (s == SessionState.Degraded && bound):
                // T4: the binding is gone; both recovery clocks start now.
                record.Binding = null;
                record.VolatileSinceMs = -1;
                record.DegradedSinceMs = -1;
                record.ProbationUntilMs = -1;
                record.UnboundSinceMs = nowMs;
                record.RecoveryDeadlineMs = nowMs + record.Policy.RecoveryWindowMs;
                Transition(record, SessionState.Recovering, ReasonCode.TransportDead, e.Reason, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.KeyExpired:
                Terminate(record, ReasonCode.KeyExpired, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.OwnershipConflict:
                Terminate(record, ReasonCode.OwnershipConflict, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.InvariantViolation:
                Terminate(record, ReasonCode.FatalProtocolError, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.OperatorTerminate:
                Terminate(record, ReasonCode.OperatorTerminated, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.SecurityViolation:
                audit?.Add(Security(record, nowMs, ReasonCode.SecurityFailure));
                Terminate(record, ReasonCode.SecurityFailure, ReasonCode.None, nowMs, audit);
                return Done(record, fired);

            case SessionEventKind.ClientTerminate:
                return ApplyClientTerminate(record, e, nowMs, audit, fired);

            case SessionEventKind.Keepalive or SessionEventKind.PathProbe when s != SessionState.Birth:
                return ApplyNonMutating(record, e, nowMs, audit, fired);

            default:
                // docs/session-spec.md I24: any pair not in the table is refused and changes nothing.
                return Reject(record, ReasonCode.InvalidStateTransition, 0, fired);
        }
    }

    /// <summary>T13: an authenticated TERMINATE with a fresh ctrl_seq (mutating freshness rule).</summary>
    private static SessionOutcome ApplyClientTerminate(SessionRecord r, in SessionEvent e, long nowMs, List<AuditEvent>? audit, int fired)
    {
        ReasonCode stale = r.CtrlSeq.CheckMutating(e.CtrlSeq, r.Policy.MaxForwardGap);
        if (stale != ReasonCode.None)
        {
            r.RejectedRequests++;
            if (stale == ReasonCode.ReplayDetected)
            {
                audit?.Add(Security(r, nowMs, ReasonCode.ReplayDetected));
            }
            return Reject(r, stale, 0, fired);
        }
        r.CtrlSeq.Accept(e.CtrlSeq);
        Terminate(r, ReasonCode.ClientTerminated, e.Reason == ReasonCode.ClientTerminated ? ReasonCode.None : e.Reason, nowMs, audit);
        return Done(r, fired);
    }

    /// <summary>KEEPALIVE / PATH_PROBE: windowed freshness, never a transition, never a binding change.</summary>
    private static SessionOutcome ApplyNonMutating(SessionRecord r, in SessionEvent e, long nowMs, List<AuditEvent>? audit, int fired)
    {
        ReasonCode stale = r.CtrlSeq.CheckNonMutating(e.CtrlSeq, r.Policy.CtrlReplayWindow, r.Policy.MaxForwardGap);
        if (stale != ReasonCode.None)
        {
            r.RejectedRequests++;
            return Reject(r, stale, 0, fired);
        }
        r.CtrlSeq.Accept(e.CtrlSeq);
        _ = audit;
        _ = nowMs;
        return Accepted(r, fired);
    }

    /// <summary>
    /// Fires every due clock-driven transition, highest priority first (docs/session-spec.md §1.5:
    /// SESSION_TTL > TRANSPORT_LOSS_TTL > terminate-class bounds > RECOVERY_WINDOW > VOLATILE_PERSISTED).
    /// Loops because one timer can make another due (VOLATILE -> DEGRADED, then nothing; RECOVERING ->
    /// DEGRADED keeps the TTL clock). At most a handful of iterations: every step moves toward TERMINATED.
    /// </summary>
    internal static int FireDueTimers(SessionRecord r, long nowMs, List<AuditEvent>? audit)
    {
        SessionPolicy p = r.Policy;
        int fired = 0;
        while (r.State != SessionState.Terminated)
        {
            bool unbound = !r.Binding.HasValue;
            if (nowMs - r.CreatedMs > p.MaxLifetimeMs)
            {
                Terminate(r, ReasonCode.SessionTtlExpired, ReasonCode.None, nowMs, audit); // T12
            }
            else if (r.State == SessionState.Birth && nowMs - r.CreatedMs > p.HandshakeTimeoutMs)
            {
                Terminate(r, ReasonCode.HandshakeFail, ReasonCode.None, nowMs, audit); // T2
            }
            else if (unbound && r.State is SessionState.Recovering or SessionState.Degraded
                && nowMs - r.UnboundSinceMs > p.TransportLostTtlMs)
            {
                Terminate(r, ReasonCode.TransportLossTtlExpired, ReasonCode.None, nowMs, audit); // T11
            }
            else if (p.DegradedMaxMs > 0 && r.State == SessionState.Degraded && !unbound
                && nowMs - r.DegradedSinceMs > p.DegradedMaxMs)
            {
                Terminate(r, ReasonCode.PolicyTermination, ReasonCode.None, nowMs, audit); // T19
            }
            else if (r.State == SessionState.Recovering && nowMs > r.RecoveryDeadlineMs)
            {
                // T9: stays unbound, the transport-loss TTL keeps running from unbound_since.
                r.RecoveryDeadlineMs = -1;
                r.DegradedSinceMs = nowMs;
                Transition(r, SessionState.Degraded, ReasonCode.RecoveryBoundsExceeded, ReasonCode.None, nowMs, audit);
            }
            else if (r.State == SessionState.Volatile && nowMs - r.VolatileSinceMs > p.VolatileToDegradedMs)
            {
                // T6: binding kept.
                r.VolatileSinceMs = -1;
                r.DegradedSinceMs = nowMs;
                Transition(r, SessionState.Degraded, ReasonCode.VolatilePersisted, ReasonCode.None, nowMs, audit);
            }
            else
            {
                break;
            }
            fired++;
        }
        return fired;
    }

    /// <summary>
    /// The one place that moves state: +1 version, one STATE_CHANGE. Then the post-transition assertion of
    /// I3 (binding count matches the state); if it fails the session ends with FATAL_PROTOCOL_ERROR (T18).
    /// </summary>
    internal static void Transition(SessionRecord r, SessionState to, ReasonCode reason, ReasonCode detail, long nowMs, List<AuditEvent>? audit)
    {
        if (r.StateVersion + 1 >= MaxStateVersion && to != SessionState.Terminated)
        {
            Terminate(r, ReasonCode.FatalProtocolError, ReasonCode.None, nowMs, audit);
            return;
        }
        SessionState from = r.State;
        r.State = to;
        r.StateVersion++;
        r.LastReason = reason;
        r.LastTransitionMs = nowMs;
        audit?.Add(Base(r, AuditEventType.StateChange, nowMs) with
        {
            Reason = reason,
            Detail = detail,
            PreviousState = from,
            NewState = to,
        });
        if (!BindingMatchesState(r))
        {
            Terminate(r, ReasonCode.FatalProtocolError, ReasonCode.None, nowMs, audit);
        }
    }

    /// <summary>docs/session-spec.md I3: ATTACHED/VOLATILE bound; BIRTH/RECOVERING/TERMINATED unbound; DEGRADED either.</summary>
    internal static bool BindingMatchesState(SessionRecord r) => r.State switch
    {
        SessionState.Attached or SessionState.Volatile => r.Binding.HasValue,
        SessionState.Birth or SessionState.Recovering or SessionState.Terminated => !r.Binding.HasValue,
        _ => true,
    };

    /// <summary>T2/T11-T19: TERMINATED is absorbing; exactly one SESSION_TERMINATED (I9); binding null.</summary>
    internal static void Terminate(SessionRecord r, ReasonCode reason, ReasonCode detail, long nowMs, List<AuditEvent>? audit)
    {
        long transportless = r.Binding.HasValue || r.UnboundSinceMs < 0 ? 0 : nowMs - r.UnboundSinceMs;
        r.Binding = null;
        r.VolatileSinceMs = -1;
        r.DegradedSinceMs = -1;
        r.RecoveryDeadlineMs = -1;
        r.ProbationUntilMs = -1;
        r.TerminationReason = reason;
        SessionState from = r.State;
        r.State = SessionState.Terminated;
        r.StateVersion++;
        r.LastReason = reason;
        r.LastTransitionMs = nowMs;
        if (audit is not null)
        {
            audit.Add(Base(r, AuditEventType.StateChange, nowMs) with { Reason = reason, Detail = detail, PreviousState = from, NewState = SessionState.Terminated });
            audit.Add(Base(r, AuditEventType.SessionTerminated, nowMs) with
            {
                Reason = reason,
                SessionAgeMs = nowMs - r.CreatedMs,
                TransportlessAgeMs = transportless,
                TotalSwitches = r.TotalSwitches,
            });
        }
    }

    internal static AuditEvent Base(SessionRecord r, AuditEventType type, long nowMs) => new()
    {
        TsMs = nowMs,
        Type = type,
        SessionId = r.Id,
        PolicyVersion = r.Policy.Version,
        StateVersion = r.StateVersion,
        RecoveryDeadlineMs = -1,
    };

    internal static AuditEvent Security(SessionRecord r, long nowMs, ReasonCode violation) =>
        Base(r, AuditEventType.SecurityEvent, nowMs) with { Reason = violation };

    private static SessionOutcome Done(SessionRecord r, int fired) =>
        new(SessionOutcomeKind.Transitioned, r.LastReason, r.StateVersion, 0, fired + 1);

    private static SessionOutcome Accepted(SessionRecord r, int fired) =>
        new(SessionOutcomeKind.Accepted, ReasonCode.None, r.StateVersion, 0, fired);

    private static SessionOutcome Reject(SessionRecord r, ReasonCode reason, uint retryAfterMs, int fired) =>
        new(SessionOutcomeKind.Rejected, reason, r.StateVersion, retryAfterMs, fired);
}
