using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Sessions;

public static partial class SessionMachine
{
    /// <summary>
    /// REATTACH_REQUEST in the tier order of docs/session-spec.md §2.4. Tier 0 (parse, global/per-source buckets)
    /// and the session lookup belong to the caller. Tiers 1-2 only read; authentication (tier 3) is the
    /// AEAD result the data plane passes in; only from tier 4 on does anything change (the ctrl_seq is
    /// consumed by any authenticated request, so a denied request cannot be replayed later when policy
    /// would allow it); tier 5 commits T7 as one step under the caller's per-session lock.
    /// </summary>
    private static SessionOutcome ApplyReattach(SessionRecord r, in SessionEvent e, long nowMs, List<AuditEvent>? audit)
    {
        SessionPolicy p = r.Policy;
        // Timers depend only on time, so firing them first does not let input content change the session;
        // still, unauthenticated input fires nothing, which makes I15 hold literally.
        int fired = e.Authenticated ? FireDueTimers(r, nowMs, audit) : 0;

        // Tier 1: state, TTLs (already fired), per-session control bucket.
        if (r.State == SessionState.Terminated)
        {
            return Denied(r, e, ReasonCode.SessionTerminated, 0, fired, nowMs, audit);
        }
        if (r.State == SessionState.Birth)
        {
            return Denied(r, e, ReasonCode.InvalidStateForReattach, 0, fired, nowMs, audit);
        }
        uint wait = r.Bucket.RetryAfterMs(nowMs, p.ControlRatePerSecond, p.ControlBurst);
        if (wait > 0)
        {
            return Denied(r, e, ReasonCode.RateLimited, wait, fired, nowMs, audit);
        }

        // Tier 2: ctrl_seq freshness, read-only.
        ReasonCode stale = r.CtrlSeq.CheckMutating(e.CtrlSeq, p.MaxForwardGap);
        if (stale != ReasonCode.None)
        {
            if (stale == ReasonCode.ReplayDetected)
            {
                audit?.Add(Security(r, nowMs, ReasonCode.ReplayDetected));
            }
            return Denied(r, e, stale, 0, fired, nowMs, audit);
        }

        // Tier 3: proof of possession (the AEAD open).
        if (!e.Authenticated)
        {
            audit?.Add(Security(r, nowMs, ReasonCode.AuthFail));
            return Reject(r, ReasonCode.AuthFail, 0, fired);
        }

        // Tier 4: from here on the request is authenticated; consume the token and the sequence number.
        r.Bucket.Consume(nowMs, p.ControlRatePerSecond, p.ControlBurst);
        r.CtrlSeq.Accept(e.CtrlSeq);
        audit?.Add(Base(r, AuditEventType.ReattachAttempt, nowMs) with
        {
            NewTransport = e.Source,
            Detail = e.Reason,
            RecoveryDeadlineMs = r.RecoveryDeadlineMs,
        });

        ulong v = e.LastAckedVersion;
        if (v < r.BoundAtVersion || v > r.StateVersion)
        {
            // docs/session-spec.md §1.7: below bound_at someone rebound since; above state_version is from the future.
            return Denied(r, e, ReasonCode.StaleStateVersion, 0, fired, nowMs, audit);
        }
        if (!IsSwitchReason(e.Reason))
        {
            return Denied(r, e, ReasonCode.MalformedMessage, 0, fired, nowMs, audit);
        }
        if (r.Binding is { } current && current == e.Source)
        {
            // Moving the binding to where it already is would burn a version and a switch for nothing.
            return Denied(r, e, ReasonCode.InvalidTransportCandidate, 0, fired, nowMs, audit);
        }
        if (r.State == SessionState.Attached && !p.AllowPlannedMigration)
        {
            return Denied(r, e, ReasonCode.PolicyDeny, 0, fired, nowMs, audit);
        }
        if (r.Binding.HasValue && r.LastSwitchMs >= 0)
        {
            // Cooldown only while bound (an unbound session must be able to recover at once), doubled in
            // DEGRADED (docs/session-spec.md §1.2).
            long cooldown = r.State == SessionState.Degraded ? 2 * p.SwitchCooldownMs : p.SwitchCooldownMs;
            long since = nowMs - r.LastSwitchMs;
            if (since < cooldown)
            {
                return SwitchDenied(r, e, ReasonCode.CooldownActive, (uint)(cooldown - since), fired, nowMs, audit);
            }
        }
        if (r.Switches.IsCapped(nowMs, out uint capWait))
        {
            if (r.State is SessionState.Volatile or SessionState.Recovering)
            {
                // T8: an authenticated request hit the cap while the path is bad: DEGRADED, binding as it was.
                r.VolatileSinceMs = -1;
                r.RecoveryDeadlineMs = -1;
                r.DegradedSinceMs = nowMs;
                Transition(r, SessionState.Degraded, ReasonCode.SwitchRateLimited, ReasonCode.None, nowMs, audit);
                fired++;
            }
            return SwitchDenied(r, e, ReasonCode.SwitchRateLimited, capWait, fired, nowMs, audit);
        }

        // Tier 5: commit T7.
        TransportAddress? previous = r.Binding;
        r.Binding = e.Source;
        r.VolatileSinceMs = -1;
        r.DegradedSinceMs = -1;
        r.UnboundSinceMs = -1;
        r.RecoveryDeadlineMs = -1;
        r.LastSwitchMs = nowMs;
        r.ProbationUntilMs = nowMs + p.ProbationMs;
        r.Switches.Push(nowMs);
        r.TotalSwitches++;
        Transition(r, SessionState.Attached, ReasonCode.ReattachSuccess, e.Reason, nowMs, audit);
        r.BoundAtVersion = r.StateVersion;
        if (audit is not null)
        {
            audit.Add(Base(r, AuditEventType.TransportSwitch, nowMs) with
            {
                PreviousTransport = previous,
                NewTransport = e.Source,
                Detail = e.Reason,
                TotalSwitches = r.TotalSwitches,
            });
            audit.Add(Base(r, AuditEventType.ReattachResult, nowMs) with { Success = true, Reason = ReasonCode.ReattachSuccess, NewTransport = e.Source });
        }
        return new SessionOutcome(SessionOutcomeKind.Transitioned, ReasonCode.ReattachSuccess, r.StateVersion, 0, fired + 1);
    }

    public static bool IsSwitchReason(ReasonCode code) => code is ReasonCode.TransportDeadRecovery or ReasonCode.LossRecovery
        or ReasonCode.PreferredPathChanged or ReasonCode.NatRebind or ReasonCode.PolicyForced;

    private static SessionOutcome SwitchDenied(SessionRecord r, in SessionEvent e, ReasonCode reason, uint retryAfterMs, int fired, long nowMs, List<AuditEvent>? audit)
    {
        audit?.Add(Base(r, AuditEventType.TransportSwitchDenied, nowMs) with { Reason = reason, RetryAfterMs = retryAfterMs, NewTransport = e.Source });
        return Denied(r, e, reason, retryAfterMs, fired, nowMs, audit);
    }

    /// <summary>
    /// A refused request: only authenticated ones are counted and answered with REATTACH_RESULT(DENIED);
    /// unauthenticated ones stay silent and change nothing at all (docs/session-spec.md §2.5, I15).
    /// </summary>
    private static SessionOutcome Denied(SessionRecord r, in SessionEvent e, ReasonCode reason, uint retryAfterMs, int fired, long nowMs, List<AuditEvent>? audit)
    {
        if (e.Authenticated)
        {
            // A tombstone is frozen (I8): late requests are answered, not counted in the record.
            if (r.State != SessionState.Terminated)
            {
                r.RejectedRequests++;
            }
            audit?.Add(Base(r, AuditEventType.ReattachResult, nowMs) with { Success = false, Reason = reason, RetryAfterMs = retryAfterMs, NewTransport = e.Source });
        }
        return Reject(r, reason, retryAfterMs, fired);
    }
}
