using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The session store of docs/design.md §6: one <see cref="OwnershipRecord"/> per session and one heartbeat
/// record per node (docs/cluster.md "Node liveness"). Every session write is a single atomic compare-and-swap on
/// (owner, owner node epoch, owner_epoch, state_version); there is no per-session lease, so the steady-state
/// load is one heartbeat write and one node list per node and beat period, whatever the number of sessions.
/// Three real implementations: <see cref="InMemorySessionStore"/> (one node, nothing to install), and
/// <see cref="RedisSessionStore"/> and <see cref="EtcdSessionStore"/> (shared by the nodes of a cluster;
/// docs/cluster.md "Which store"). Calls are synchronous with a bounded operation timeout: the caller gets an
/// answer (or <see cref="StoreStatus.Unavailable"/>) quickly; it never retries a write blindly and never falls
/// back to a local commit (docs/session-spec.md §5.2.3 "fail closed").
/// </summary>
public interface ISessionStore : IDisposable
{
    /// <summary>`memory`, `redis://host:port/db` or `etcd://host:port,...` (no password), for logs and status.</summary>
    string Description { get; }

    /// <summary>
    /// Creates a new record owned by (<paramref name="record"/>.OwnerNode, .OwnerNodeEpoch) with owner_epoch 1,
    /// not released; fails (<see cref="StoreStatus.AlreadyExists"/>) if the id exists.
    /// </summary>
    StoreResult Create(OwnershipRecord record);

    StoreResult Read(SessionId id);

    /// <summary>
    /// Replaces the record iff it is not released, its owner, owner node epoch and owner_epoch equal
    /// <paramref name="next"/>'s, and its state_version equals <paramref name="expectedVersion"/>. A lost CAS
    /// answers <see cref="StoreStatus.OwnershipConflict"/> or <see cref="StoreStatus.StaleStateVersion"/> with the
    /// current record; never last-write-wins. A TERMINATED record is kept as a tombstone for
    /// <paramref name="tombstoneMs"/> and then removed.
    /// </summary>
    StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs);

    /// <summary>
    /// Takes the session for (<paramref name="node"/>, <paramref name="nodeEpoch"/>) in one atomic step
    /// (docs/cluster.md "Failover"): iff the record's owner, owner node epoch, owner_epoch and state_version are
    /// <paramref name="expected"/>'s, and the takeover is allowed: the record was released, or its owner is
    /// <paramref name="node"/> at an equal or older node epoch, or the owner's heartbeat record is still exactly
    /// <paramref name="expected"/>.StaleBeat (absent if that is absent), or it names a newer incarnation of the
    /// owner. Then owner_epoch + 1 and released cleared. A record that changed answers
    /// <see cref="StoreStatus.OwnershipConflict"/>/<see cref="StoreStatus.StaleStateVersion"/>, a heartbeat that
    /// advanced <see cref="StoreStatus.OwnerAlive"/>, both with the current record.
    /// </summary>
    StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected);

    /// <summary>Marks the session released (a stopping or draining node) iff the owner is still (node, node epoch, epoch).</summary>
    StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch);

    /// <summary>
    /// <see cref="Read"/> for many sessions at once (a draining node's check round, docs/cluster.md "Drain"): one
    /// result per id, in order. Stores that can pipeline send them together instead of one round trip each.
    /// </summary>
    IReadOnlyList<StoreResult> ReadMany(IReadOnlyList<SessionId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var results = new StoreResult[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            results[i] = Read(ids[i]);
        }
        return results;
    }

    /// <summary>
    /// <see cref="Release"/> for many sessions at once (a draining node, docs/cluster.md "Drain"): one result per
    /// request, in order, each with <see cref="Release"/>'s condition. Stores that can pipeline send them together.
    /// </summary>
    IReadOnlyList<StoreResult> ReleaseMany(IReadOnlyList<ReleaseRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new StoreResult[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            ReleaseRequest r = requests[i];
            results[i] = Release(r.Id, r.Node, r.NodeEpoch, r.Epoch);
        }
        return results;
    }

    /// <summary>
    /// Ends abandoned records (docs/cluster.md "Record expiry"): every record created more than
    /// <paramref name="rule"/>.LifetimeMs ago that is not TERMINATED, and every record still released more than
    /// .ReleasedMs after the release that released it, becomes a tombstone (<see cref="RecordExpiry.Ended"/>: reason
    /// SESSION_TTL_EXPIRED resp. TRANSPORT_LOSS_TTL_EXPIRED), each in one atomic step conditioned on the record not
    /// having changed. The stores keep both times in ordered indexes, so a call costs O(records due), not
    /// O(records): at most .Max of each kind. Returns the tombstones written; null when the store is unavailable.
    /// Any node may call it at any time; concurrent calls end each record once.
    /// </summary>
    IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule);

    /// <summary>Live records (tombstones excluded), for `jvpn cluster status`.</summary>
    IReadOnlyList<OwnershipRecord> ListSessions();

    /// <summary>
    /// A new incarnation of <paramref name="node"/>: a node epoch larger than any the store handed this node id
    /// before (a per-node counter in the store); 0 when the store is unavailable.
    /// </summary>
    ulong RegisterNode(string node);

    /// <summary>
    /// Writes the node's heartbeat record (<see cref="ClusterNodeInfo"/>; SeenUnixMs is set by the store). The
    /// record has no expiry: a node that stops beating stays listed, and observers judge it by its beat
    /// counter on their own clocks (docs/cluster.md "Node liveness").
    /// </summary>
    bool Heartbeat(ClusterNodeInfo beat);

    /// <summary>Every heartbeat record, by node id; null when the store is unavailable (never an empty list for that).</summary>
    IReadOnlyList<ClusterNodeInfo>? ListNodes();

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

/// <summary>One session of a batched release: release <see cref="Id"/> iff still owned by (<see cref="Node"/>, <see cref="NodeEpoch"/>, <see cref="Epoch"/>).</summary>
public readonly record struct ReleaseRequest(SessionId Id, string Node, ulong NodeEpoch, ulong Epoch);
