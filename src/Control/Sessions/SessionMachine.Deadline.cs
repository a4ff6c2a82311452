namespace JumpingVpn.Control.Sessions;

public static partial class SessionMachine
{
    /// <summary>
    /// The earliest monotonic ms at which <see cref="FireDueTimers"/> (or the tombstone eviction after
    /// TERMINATED) could act on <paramref name="r"/>; before it a Tick is a no-op, so the server's sweep
    /// skips the session with one read instead of taking its lock (the 50 ms sweep must not cost
    /// O(N) locked work at 100k sessions). Mirrors FireDueTimers' conditions, each of which fires strictly
    /// after its bound, hence the +1. Returning too early is harmless (one extra Tick); it never returns late.
    /// </summary>
    public static long NextDeadlineMs(SessionRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        Policy.SessionPolicy p = r.Policy;
        if (r.State == SessionState.Terminated)
        {
            return r.LastTransitionMs + p.TombstoneTtlMs + 1;
        }
        long due = r.CreatedMs + p.MaxLifetimeMs + 1;
        bool unbound = !r.Binding.HasValue;
        if (r.State == SessionState.Birth)
        {
            due = Math.Min(due, r.CreatedMs + p.HandshakeTimeoutMs + 1);
        }
        if (unbound && r.State is SessionState.Recovering or SessionState.Degraded)
        {
            due = Math.Min(due, r.UnboundSinceMs + p.TransportLostTtlMs + 1);
        }
        if (p.DegradedMaxMs > 0 && r.State == SessionState.Degraded && !unbound)
        {
            due = Math.Min(due, r.DegradedSinceMs + p.DegradedMaxMs + 1);
        }
        if (r.State == SessionState.Recovering)
        {
            due = Math.Min(due, r.RecoveryDeadlineMs + 1);
        }
        if (r.State == SessionState.Volatile)
        {
            due = Math.Min(due, r.VolatileSinceMs + p.VolatileToDegradedMs + 1);
        }
        return due;
    }

    /// <summary>Whether the transport-dead check applies (a binding in ATTACHED, VOLATILE or DEGRADED).</summary>
    public static bool WatchesTransport(SessionRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return r.Binding.HasValue && r.State is SessionState.Attached or SessionState.Volatile or SessionState.Degraded;
    }
}
