using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The shared, authoritative copy of one session in the cluster store (docs/design.md §6, docs/session-spec.md §5.2.3):
/// who owns it (node, fencing epoch, lease), the FSM state the owner last committed, the binding and the
/// data needed for another node to continue it (peer key, inner addresses, policy version, the wall-clock
/// times its TTLs run from). Monotonic node clocks never cross machines, so times here are Unix ms.
/// Every write is conditional on (<see cref="OwnerEpoch"/>, <see cref="StateVersion"/>).
/// </summary>
public sealed record OwnershipRecord
{
    public required SessionId Id { get; init; }

    /// <summary>The client's WireGuard public key (base64): only that peer may resume the session.</summary>
    public required string PeerKey { get; init; }

    public required string OwnerNode { get; init; }

    /// <summary>Fencing token: +1 on every ownership change (acquire); a write with an older epoch fails.</summary>
    public ulong OwnerEpoch { get; init; }

    /// <summary>Store-clock Unix ms until which <see cref="OwnerNode"/> holds the lease (0: released).</summary>
    public long LeaseExpiryUnixMs { get; init; }

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

/// <summary>A cluster node as it last announced itself (`jvpn cluster status`).</summary>
public sealed record ClusterNodeInfo(string NodeId, string Detail, long SeenUnixMs, long ExpiresUnixMs);

/// <summary>One entry of the peer registry kept in the store: a client key and its inner addresses.</summary>
public sealed record RegisteredPeer(string PublicKey, string AllowedIps);
