using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// When a session record nobody will end any more is ended by the store's sweep (docs/cluster.md "Record expiry"):
/// a record older than <see cref="LifetimeMs"/> (the session's absolute lifetime plus a grace in which a live owner
/// ends it itself), or released longer than <see cref="ReleasedMs"/> ago (twice transport_lost_ttl: the releasing
/// node ends a handed-back session after one, so the sweep only meets those whose releasing node died or stopped).
/// At most <see cref="Max"/> records per kind and call; each becomes a tombstone kept <see cref="TombstoneMs"/>.
/// </summary>
public readonly record struct RecordExpiry(long LifetimeMs, long ReleasedMs, long TombstoneMs, int Max)
{
    /// <summary>The rule for sessions of <paramref name="policy"/>: lifetime + transport_lost_ttl, 2 x transport_lost_ttl, the policy's tombstone time, 256 per call.</summary>
    public static RecordExpiry For(Policy.SessionPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new RecordExpiry(policy.MaxLifetimeMs + policy.TransportLostTtlMs, 2 * policy.TransportLostTtlMs, policy.TombstoneTtlMs, 256);
    }

    /// <summary>
    /// The tombstone a sweep writes: TERMINATED, the next state_version, <paramref name="reason"/>, not released; the
    /// owner fields stay as they were, so a late write of that owner fails on the version.
    /// </summary>
    public static OwnershipRecord Ended(OwnershipRecord current, ReasonCode reason)
    {
        ArgumentNullException.ThrowIfNull(current);
        return current with { State = SessionState.Terminated, StateVersion = current.StateVersion + 1, LastReason = reason, Released = false };
    }
}
