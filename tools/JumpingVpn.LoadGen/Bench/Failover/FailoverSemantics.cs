using JumpingVpn.Control.Sessions;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>
/// Everything `jvpn-loadgen failover` assumes about how a client and the cluster behave around a node's
/// death (docs/cluster.md "Benchmark"), in one place, so a change of those rules is one edit here (and the
/// node configuration in bench/cluster-failover.sh, `node_config`). The client side mirrors the real
/// client: silence is judged like the path manager's path_dead (docs/paths.md "Decisions"), the
/// handshake retransmit is WireGuard's, HELLO and REATTACH retries are the client role's, and a node that
/// cannot serve the session yet is retried after the time it names (docs/cluster.md "The model", Failover).
/// </summary>
internal static class FailoverSemantics
{
    /// <summary>
    /// A node is silent when a KEEPALIVE (or any request) stays unanswered this long: the client's node-silence
    /// verdict on a short round trip (NodeSilence.FastVerdictMs, docs/cluster.md "Client failover").
    /// </summary>
    public const long SilentNodeMs = 600;

    /// <summary>The client's path_dead and transport_dead (docs/paths.md "Decisions"), which bound the settling verdict.</summary>
    public const long PathDeadMs = 1000;

    /// <summary>See <see cref="PathDeadMs"/>.</summary>
    public const long TransportDeadMs = 4000;

    /// <summary>How long the client is settling on its new node, from its first answer after the move (NodeSilence.SettleMs).</summary>
    public const long SettleMs = 20_000;

    /// <summary>
    /// The verdict for the node the client talks to, as NodeSilence.SettlingVerdictMs on a short round trip: the
    /// fast verdict, or, for a node that has answered since the client moved to it (the simulated client judges
    /// only a node it is attached to), path_dead doubled per move of the current run, at most transport_dead
    /// (docs/cluster.md "Client failover").
    /// </summary>
    public static long SilentVerdictMs(int recentMoves) =>
        recentMoves <= 0 ? SilentNodeMs : Math.Max(SilentNodeMs, Math.Min(TransportDeadMs, PathDeadMs << Math.Min(recentMoves, 4)));

    /// <summary>The fast probes' period while settling (NodeSilence.ProbeEveryMsFor).</summary>
    public static long ProbeEveryMsFor(int recentMoves) => ProbeEveryMs << Math.Clamp(recentMoves, 0, 2);

    /// <summary>A request unanswered this long starts the fast probes (NodeSilence.ProbeAfterMs).</summary>
    public const long ProbeAfterMs = 300;

    /// <summary>The fast probes' period (NodeSilence.ProbeEveryMs): a KEEPALIVE this often while the node is silent.</summary>
    public const long ProbeEveryMs = 100;

    /// <summary>The real client's active heartbeat (docs/paths.md "Idle"): the slowest cadence the bench uses.</summary>
    public const long RealClientHeartbeatMs = 500;

    /// <summary>An unanswered handshake initiation is sent again after WireGuard's RekeyTimeout (5 s).</summary>
    public const long HandshakeRetryMs = 5000;

    /// <summary>Attaching before the kill is set-up, not measurement: initiations lost then are retried sooner.</summary>
    public const long EstablishHandshakeRetryMs = 1000;

    /// <summary>An unanswered HELLO is sent again after this long (the client role's HELLO deadline).</summary>
    public const long HelloRetryMs = 1000;

    /// <summary>NOT_AUTHORITATIVE_OWNER from one node for this long: the owner is alive elsewhere, try the next node (the client role's rule).</summary>
    public const long OwnerRefusalRotateMs = 2000;

    /// <summary>The least wait after a refusal other than NOT_AUTHORITATIVE_OWNER, whatever retry_after_ms says (the client role's floor).</summary>
    public const long MinRetryAfterMs = 100;

    /// <summary>NOT_AUTHORITATIVE_OWNER is retried after retry_after_ms clamped to [20, 100] ms (ServerFailover.MinOwnerRetryMs, MaxOwnerRetryMs).</summary>
    public const long MinOwnerRetryMs = 20;

    /// <summary>See <see cref="MinOwnerRetryMs"/>.</summary>
    public const long MaxOwnerRetryMs = 100;

    /// <summary>When to retry after a retryable refusal, as the client role does (ServerFailover.RetryAfterMs).</summary>
    public static long RetryAfterMs(ReasonCode reason, long retryAfterMs) =>
        reason == ReasonCode.NotAuthoritativeOwner
            ? Math.Clamp(retryAfterMs, MinOwnerRetryMs, MaxOwnerRetryMs)
            : Math.Max(MinRetryAfterMs, retryAfterMs);

    /// <summary>An unanswered REATTACH_REQUEST is sent again after min(2 s, 100 ms x 2^attempt).</summary>
    public static long ReattachRetryMs(int attempt) => Math.Min(2000, 100L << Math.Min(attempt, 5));

    /// <summary>The least wait after a STALE_STATE_VERSION refusal, which names the version to retry from.</summary>
    public const long MinStaleRetryMs = 50;

    /// <summary>
    /// Refusals after which the client keeps the session and retries later, as the client role does: every
    /// one except "the session is gone" (the real client then starts a new session, which the bench counts
    /// as the session lost).
    /// </summary>
    public static bool IsRetryable(ReasonCode reason) => reason is not (ReasonCode.SessionNotFound or ReasonCode.SessionTerminated);

    /// <summary>
    /// Versions one failover adds (docs/cluster.md "The model", Failover): T4 TRANSPORT_DEAD with detail
    /// OWNER_FAILOVER when the new owner adopts the session, then the reattach's T7 REATTACH_SUCCESS.
    /// </summary>
    public const ulong VersionsPerFailover = 2;

    /// <summary>`jvpn cluster status --json`: the array of sessions and the fields read from each.</summary>
    public const string StatusSessions = "sessions";
    public const string StatusSessionId = "session_id";
    public const string StatusOwner = "owner_node_id";
    public const string StatusVersion = "state_version";
    public const string StatusState = "state";
}
