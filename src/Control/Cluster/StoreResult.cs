namespace JumpingVpn.Control.Cluster;

/// <summary>How a store operation ended. Only <see cref="Ok"/> changed anything.</summary>
public enum StoreStatus : byte
{
    Ok,
    NotFound,
    AlreadyExists,
    /// <summary>The CAS lost on state_version: someone committed a newer version (docs/session-spec.md §2.4 tier 5).</summary>
    StaleStateVersion,
    /// <summary>The CAS lost on owner/epoch: another node (or a newer incarnation) owns the session (fencing).</summary>
    OwnershipConflict,
    /// <summary>Acquire refused: the owner's heartbeat advanced past the beat the acquirer judged stale (it is alive).</summary>
    OwnerAlive,
    /// <summary>The store did not answer within its operation timeout; nothing was written (fail closed).</summary>
    Unavailable,
    /// <summary>The store answered with a record or reply that fails validation (<see cref="StoreRecordCheck"/>): counted and dropped.</summary>
    Malformed,
}

/// <summary>
/// Outcome of one store operation: the status, the record as the store holds it after the operation (or
/// as it was when a CAS lost: the caller never has to guess), the previous owner for an acquire, and the
/// store's clock (status output; liveness never compares clocks across machines).
/// </summary>
public readonly record struct StoreResult(StoreStatus Status, OwnershipRecord? Current, long StoreNowUnixMs, string PreviousOwner = "")
{
    public bool IsOk => Status == StoreStatus.Ok;

    public static StoreResult Unavailable => new(StoreStatus.Unavailable, null, 0);

    /// <summary>What was wrong with a <see cref="StoreStatus.Malformed"/> answer (bounded, safe to log).</summary>
    public string? Problem { get; init; }

    public static StoreResult Malformed(string problem, long storeNowUnixMs = 0) => new(StoreStatus.Malformed, null, storeNowUnixMs) { Problem = problem };
}
