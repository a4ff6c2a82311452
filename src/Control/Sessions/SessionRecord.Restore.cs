using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Sessions;

public sealed partial class SessionRecord
{
    /// <summary>
    /// A session continued from the cluster store on a node that did not create it (docs/session-spec.md §5.2.3
    /// node failure): same id, state, versions and binding as the store holds them; times are this node's
    /// monotonic ms, converted by the caller from the store's Unix ms. Limiter state starts fresh (it is
    /// node-local soft state); the control-sequence high-water travels so an old request stays refused.
    /// </summary>
    internal static SessionRecord Restore(SessionId id, SessionPolicy policy, long createdMs, SessionState state, ulong stateVersion,
        ulong boundAtVersion, TransportAddress? binding, long unboundSinceMs, int totalSwitches, ulong ctrlSeqHighWater, ReasonCode lastReason, long nowMs)
    {
        var r = new SessionRecord(id, policy, createdMs)
        {
            State = state,
            StateVersion = stateVersion,
            BoundAtVersion = boundAtVersion,
            Binding = binding,
            UnboundSinceMs = binding.HasValue ? -1 : unboundSinceMs,
            TotalSwitches = totalSwitches,
            LastReason = lastReason,
            LastTransitionMs = nowMs,
        };
        if (state == SessionState.Recovering)
        {
            // The recovery window restarts with the new owner; the transport-loss TTL keeps its origin.
            r.RecoveryDeadlineMs = nowMs + policy.RecoveryWindowMs;
        }
        if (state == SessionState.Degraded)
        {
            r.DegradedSinceMs = nowMs;
        }
        if (state == SessionState.Volatile)
        {
            r.VolatileSinceMs = nowMs;
        }
        if (ctrlSeqHighWater > 0)
        {
            r.CtrlSeq.Accept(ctrlSeqHighWater);
        }
        return r;
    }

    /// <summary>Makes this record an exact copy of <paramref name="o"/> (same session): the rollback of a refused commit.</summary>
    internal void CopyFrom(SessionRecord o)
    {
        CtrlSeq = o.CtrlSeq;
        Bucket = o.Bucket;
        Switches.CopyFrom(o.Switches);
        State = o.State;
        StateVersion = o.StateVersion;
        BoundAtVersion = o.BoundAtVersion;
        Binding = o.Binding;
        VolatileSinceMs = o.VolatileSinceMs;
        DegradedSinceMs = o.DegradedSinceMs;
        UnboundSinceMs = o.UnboundSinceMs;
        RecoveryDeadlineMs = o.RecoveryDeadlineMs;
        LastSwitchMs = o.LastSwitchMs;
        ProbationUntilMs = o.ProbationUntilMs;
        LastReason = o.LastReason;
        LastTransitionMs = o.LastTransitionMs;
        TotalSwitches = o.TotalSwitches;
        RejectedRequests = o.RejectedRequests;
        TerminationReason = o.TerminationReason;
        LastRebindHintMs = o.LastRebindHintMs;
        LastRebindHintAddress = o.LastRebindHintAddress;
    }
}
