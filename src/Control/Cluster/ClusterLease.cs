using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// This node's ownership of one session: the fencing epoch it writes with and, on this node's monotonic
/// clock, until when its lease is known to hold. The lease is renewed by <see cref="ClusterCoordinator"/>;
/// <see cref="ValidUntilMs"/> is taken from the moment the renewal was *sent* minus a drift margin, so the
/// node stops serving before the store could hand the session to another node (self-fencing,
/// docs/session-spec.md §5.2.3).
/// </summary>
public sealed class ClusterLease : ISessionCommitter
{
    private readonly ClusterCoordinator _cluster;
    private long _validUntilMs;
    private long _epoch;
    private volatile bool _lost;

    internal ClusterLease(ClusterCoordinator cluster, SessionId id, string peerKey, string innerAddresses, ulong epoch, long validUntilMs,
        Func<SessionRecord, ClusterLease, OwnershipRecord> toStore)
    {
        _cluster = cluster;
        Id = id;
        PeerKey = peerKey;
        InnerAddresses = innerAddresses;
        _epoch = (long)epoch;
        _validUntilMs = validUntilMs;
        ToStore = toStore;
    }

    public SessionId Id { get; }

    public string PeerKey { get; }

    public string InnerAddresses { get; }

    public ulong Epoch => (ulong)Interlocked.Read(ref _epoch);

    public long ValidUntilMs => Interlocked.Read(ref _validUntilMs);

    /// <summary>The store says another node (or a newer incarnation) owns the session: never serve it again.</summary>
    public bool Lost => _lost;

    internal Func<SessionRecord, ClusterLease, OwnershipRecord> ToStore { get; }

    public bool IsValid(long nowMs) => !_lost && nowMs < ValidUntilMs;

    internal void Extend(long validUntilMs) => Interlocked.Exchange(ref _validUntilMs, validUntilMs);

    internal void MarkLost() => _lost = true;

    /// <summary>The tier-5 compare-and-swap of a committed transition (<see cref="ISessionCommitter"/>).</summary>
    public ReasonCode Commit(SessionRecord committed, ulong readVersion)
    {
        ArgumentNullException.ThrowIfNull(committed);
        if (!IsValid(_cluster.NowMs()))
        {
            return ReasonCode.NotAuthoritativeOwner;
        }
        OwnershipRecord next = ToStore(committed, this);
        StoreResult r = _cluster.Store.CompareAndSwap(readVersion, next, committed.Policy.TombstoneTtlMs);
        _cluster.CountStoreResult(r.Status);
        switch (r.Status)
        {
            case StoreStatus.Ok:
                return ReasonCode.None;
            case StoreStatus.Unavailable:
                return ReasonCode.StoreUnavailable;
            case StoreStatus.StaleStateVersion:
                // Only the owner writes, so a newer version means our copy is not the session any more.
                MarkLost();
                return ReasonCode.StaleStateVersion;
            default:
                MarkLost();
                return ReasonCode.OwnershipConflict;
        }
    }
}
