using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// This node's ownership of one session: the fencing epoch it writes with and the node epoch (incarnation) it
/// was taken under. It has no lease of its own: it is valid while that incarnation is (docs/cluster.md "Node
/// liveness", <see cref="ClusterCoordinator.IsValid(ulong, long)"/>), so the owner self-fences every session at
/// once when its heartbeats stop succeeding (docs/session-spec.md §5.2.3).
/// </summary>
public sealed class OwnedSession : ISessionCommitter
{
    private readonly ClusterCoordinator _cluster;
    private volatile bool _lost;

    internal OwnedSession(ClusterCoordinator cluster, SessionId id, string peerKey, string innerAddresses, ulong epoch, ulong nodeEpoch,
        Func<SessionRecord, OwnedSession, OwnershipRecord> toStore)
    {
        _cluster = cluster;
        Id = id;
        PeerKey = peerKey;
        InnerAddresses = innerAddresses;
        Epoch = epoch;
        NodeEpoch = nodeEpoch;
        ToStore = toStore;
    }

    public SessionId Id { get; }

    public string PeerKey { get; }

    public string InnerAddresses { get; }

    /// <summary>owner_epoch of the record while this node owns it.</summary>
    public ulong Epoch { get; }

    /// <summary>The incarnation of this node that owns the session.</summary>
    public ulong NodeEpoch { get; }

    /// <summary>The store says another node (or a newer incarnation) owns the session: never serve it again.</summary>
    public bool Lost => _lost;

    internal Func<SessionRecord, OwnedSession, OwnershipRecord> ToStore { get; }

    public bool IsValid(long nowMs) => !_lost && _cluster.IsValid(NodeEpoch, nowMs);

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

    /// <summary>
    /// A compare-and-swap that timed out may have been applied (docs/cluster.md "In-doubt commits"): read the record.
    /// Still ours at the attempted version: it landed. Still ours at the version it was read at: it has not landed,
    /// but a request past its deadline may still arrive (etcd serves it after the client gave up), so the session is
    /// taken again under a fresh owner_epoch, which every write of this one fails from then on. Anything else: lost.
    /// </summary>
    public DoubtResolution ResolveDoubt(ulong readVersion, ulong attemptedVersion)
    {
        if (_lost)
        {
            return DoubtResolution.Lost;
        }
        if (!IsValid(_cluster.NowMs()))
        {
            return DoubtResolution.Unknown;
        }
        StoreResult r = _cluster.Read(Id);
        if (r.Status == StoreStatus.Unavailable)
        {
            return DoubtResolution.Unknown;
        }
        OwnershipRecord? rec = r.Current;
        if (!r.IsOk || rec is null || rec.Released || !string.Equals(rec.OwnerNode, _cluster.NodeId, StringComparison.Ordinal)
            || rec.OwnerNodeEpoch != NodeEpoch || rec.OwnerEpoch != Epoch
            || (rec.StateVersion != attemptedVersion && rec.StateVersion != readVersion))
        {
            MarkLost();
            return DoubtResolution.Lost;
        }
        if (rec.StateVersion == attemptedVersion)
        {
            _cluster.CountDoubt(landed: true);
            return DoubtResolution.Landed;
        }
        StoreResult acq = _cluster.Acquire(Id, AcquireExpectation.Of(rec, default), ToStore, out OwnedSession? successor);
        if (acq.IsOk && successor is not null)
        {
            // The successor owns the session from here (the coordinator's table names it); this one is spent.
            MarkLost();
            _cluster.CountDoubt(landed: false);
            return DoubtResolution.Retry;
        }
        // Unavailable, or the record moved between the read and the acquire (the late write landed): ask again.
        return DoubtResolution.Unknown;
    }
}
