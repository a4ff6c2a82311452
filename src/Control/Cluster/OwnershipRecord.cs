using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The shared, authoritative copy of one session in the cluster store (docs/design.md §6, docs/session-spec.md §5.2.3):
/// who owns it (node, node epoch, fencing epoch, released), the FSM state the owner last committed, the binding and the
/// data needed for another node to continue it (peer key, inner addresses, policy version, the wall-clock
/// times its TTLs run from). Monotonic node clocks never cross machines, so times here are Unix ms.
/// Every write is conditional on (<see cref="OwnerNode"/>, <see cref="OwnerNodeEpoch"/>, <see cref="OwnerEpoch"/>,
/// <see cref="StateVersion"/>). There is no per-session lease: the owner is alive while its node's heartbeat
/// advances (docs/cluster.md "Node liveness").
/// </summary>
public sealed record OwnershipRecord
{
    public required SessionId Id { get; init; }

    /// <summary>The client's WireGuard public key (base64): only that peer may resume the session.</summary>
    public required string PeerKey { get; init; }

    public required string OwnerNode { get; init; }

    /// <summary>The incarnation of <see cref="OwnerNode"/> that owns the session (its node epoch, docs/cluster.md "Node liveness").</summary>
    public ulong OwnerNodeEpoch { get; init; }

    /// <summary>Fencing token: +1 on every ownership change (acquire); a write with an older epoch fails.</summary>
    public ulong OwnerEpoch { get; init; }

    /// <summary>The owner gave the session up (drain, stop): any node may acquire it at once.</summary>
    public bool Released { get; init; }

    public SessionState State { get; init; }

    public ulong StateVersion { get; init; }

    public ulong BoundAtVersion { get; init; }

    /// <summary>The client's binding (`ip:port`) or empty while unbound.</summary>
    public string Binding { get; init; } = "";

    /// <summary>The client's inner addresses (comma-separated prefixes), so a new owner routes the same ones.</summary>
    public string InnerAddresses { get; init; } = "";

    public string PolicyVersion { get; init; } = "";

    public long CreatedUnixMs { get; init; }

    /// <summary>Start of the transport-loss TTL in Unix ms, or -1 while bound.</summary>
    public long UnboundSinceUnixMs { get; init; } = -1;

    public int TotalSwitches { get; init; }

    /// <summary>Control-sequence high-water of the client's requests (a replayed request stays refused on the new owner).</summary>
    public ulong CtrlSeqHighWater { get; init; }

    /// <summary>Reason of the last transition (status output).</summary>
    public ReasonCode LastReason { get; init; }
}

/// <summary>
/// A node's heartbeat record (docs/cluster.md "Node liveness"): its id, its incarnation (<paramref name="NodeEpoch"/>,
/// larger after every registration), the beat counter (+1 per heartbeat), the client-facing endpoint
/// (`ip:port` clients would dial, or empty), whether it is draining, and the store's clock when it was written
/// (for status output only: liveness is judged on each observer's own clock).
/// </summary>
public sealed record ClusterNodeInfo(string NodeId, ulong NodeEpoch, ulong Beat, string Endpoint, bool Draining, long SeenUnixMs);

/// <summary>
/// The heartbeat value an acquiring node judged stale: (node epoch, beat) of the owner's heartbeat record as it
/// observed it; <c>default</c> means it observed no heartbeat record for the owner at all.
/// </summary>
public readonly record struct ObservedBeat(ulong NodeEpoch, ulong Beat)
{
    public bool IsAbsent => NodeEpoch == 0 && Beat == 0;

    public static ObservedBeat Of(ClusterNodeInfo? node) => node is null ? default : new ObservedBeat(node.NodeEpoch, node.Beat);
}

/// <summary>
/// What an acquiring node saw (docs/cluster.md "Failover"): the record's owner, node epoch, fencing epoch and
/// state_version, and the owner's heartbeat it judged stale. The store takes the session only if all of it still holds.
/// </summary>
public readonly record struct AcquireExpectation(string OwnerNode, ulong OwnerNodeEpoch, ulong OwnerEpoch, ulong StateVersion, ObservedBeat StaleBeat)
{
    public static AcquireExpectation Of(OwnershipRecord r, ObservedBeat staleBeat)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new AcquireExpectation(r.OwnerNode, r.OwnerNodeEpoch, r.OwnerEpoch, r.StateVersion, staleBeat);
    }
}

/// <summary>One entry of the peer registry kept in the store: a client key and its inner addresses.</summary>
public sealed record RegisteredPeer(string PublicKey, string AllowedIps);
