using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The session store of docs/design.md §6: one <see cref="OwnershipRecord"/> per session, every write a single
/// atomic compare-and-swap on (owner_epoch, state_version), ownership by lease with a fencing epoch. Three
/// real implementations: <see cref="InMemorySessionStore"/> (one node, nothing to install), and
/// <see cref="RedisSessionStore"/> and <see cref="EtcdSessionStore"/> (shared by the nodes of a cluster;
/// docs/cluster.md "Which store"). Calls are synchronous with a bounded
/// operation timeout: the session layer commits on its own thread and must get an answer (or
/// <see cref="StoreStatus.Unavailable"/>) quickly; it never retries a write blindly and never falls back to
/// a local commit (docs/session-spec.md §5.2.3 "fail closed").
/// </summary>
public interface ISessionStore : IDisposable
{
    /// <summary>`memory`, `redis://host:port/db` or `etcd://host:port,...` (no password), for logs and status.</summary>
    string Description { get; }

    /// <summary>Creates a new record owned by <paramref name="record"/>.OwnerNode with epoch 1 and a lease; fails if the id exists.</summary>
    StoreResult Create(OwnershipRecord record, long leaseMs);

    StoreResult Read(SessionId id);

    /// <summary>
    /// Replaces the record iff the stored owner and epoch equal <paramref name="next"/>'s and the stored
    /// state_version equals <paramref name="expectedVersion"/>. A lost CAS re-reads and answers
    /// <see cref="StoreStatus.OwnershipConflict"/> or <see cref="StoreStatus.StaleStateVersion"/> with the current
    /// record; never last-write-wins. Lease and epoch are not changed by this write. A TERMINATED record is
    /// kept as a tombstone for <paramref name="tombstoneMs"/> and then removed.
    /// </summary>
    StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs);

    /// <summary>
    /// Takes ownership for <paramref name="node"/> iff the current lease has ended (or was released, or is
    /// the node's own): owner_epoch + 1, lease = store now + <paramref name="leaseMs"/>. Otherwise
    /// <see cref="StoreStatus.LeaseHeld"/> with the current record (its lease says when to retry).
    /// </summary>
    StoreResult Acquire(SessionId id, string node, long leaseMs);

    /// <summary>Extends the lease iff <paramref name="node"/> still owns the session at <paramref name="epoch"/>.</summary>
    StoreResult Renew(SessionId id, string node, ulong epoch, long leaseMs);

    /// <summary>Ends the lease at once (a stopping node), so another node may acquire without waiting.</summary>
    StoreResult Release(SessionId id, string node, ulong epoch);

    /// <summary>Live records (tombstones excluded), for `jvpn cluster status`.</summary>
    IReadOnlyList<OwnershipRecord> ListSessions();

    /// <summary>Announces a node for <paramref name="ttlMs"/> (the node registry).</summary>
    bool Heartbeat(string node, string detail, long ttlMs);

    IReadOnlyList<ClusterNodeInfo> ListNodes();

    /// <summary>The peer registry shared by the nodes (client key -> inner addresses).</summary>
    bool PutPeer(RegisteredPeer peer);

    IReadOnlyList<RegisteredPeer> ListPeers();

    /// <summary>A round trip to the store; false when it is unreachable or slower than the operation timeout.</summary>
    bool Ping(out double latencyMs);

    /// <summary>
    /// Asks <paramref name="node"/> to drain (`jvpn cluster drain`, docs/cluster.md "Drain"); the request expires after
    /// <paramref name="ttlMs"/> if no node takes it. False when the store did not take the write.
    /// </summary>
    bool RequestDrain(string node, long ttlMs);

    /// <summary>True once when a live drain request for <paramref name="node"/> exists: reads and removes it in one atomic step.</summary>
    bool TakeDrainRequest(string node);
}
