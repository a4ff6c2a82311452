using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// The server-side state of one session. Fixed size once created (docs/session-spec.md I17): a ctrl_seq window of
/// two words, a token bucket, a switch ring sized by the policy, no history. Only
/// <see cref="SessionMachine"/> mutates it; callers that share it across threads go through
/// <see cref="SessionSlot"/>. Times are ms of the caller's monotonic clock; -1 means "not running".
/// </summary>
public sealed partial class SessionRecord
{
    internal CtrlSeqWindow CtrlSeq;
    internal ControlTokenBucket Bucket;
    internal readonly SwitchRing Switches;

    internal SessionRecord(SessionId id, SessionPolicy policy, long createdMs)
    {
        Id = id;
        Policy = policy;
        CreatedMs = createdMs;
        LastTransitionMs = createdMs;
        Bucket = new ControlTokenBucket(policy.ControlBurst, createdMs);
        Switches = new SwitchRing(policy.MaxSwitchesPerMinute);
    }

    public SessionId Id { get; }

    /// <summary>The policy snapshot this session was created with (applied to it for its whole life).</summary>
    public SessionPolicy Policy { get; }

    public long CreatedMs { get; }

    public SessionState State { get; internal set; }

    public ulong StateVersion { get; internal set; }

    /// <summary>Version of the last binding commit (T1/T7); the reattach window's lower bound.</summary>
    public ulong BoundAtVersion { get; internal set; }

    /// <summary>Where the server sends; null while unbound (BIRTH, RECOVERING, DEGRADED unbound, TERMINATED).</summary>
    public TransportAddress? Binding { get; internal set; }

    public long VolatileSinceMs { get; internal set; } = -1;

    public long DegradedSinceMs { get; internal set; } = -1;

    /// <summary>Start of the transport-loss TTL (set at T4, kept through T9, cleared by T7).</summary>
    public long UnboundSinceMs { get; internal set; } = -1;

    public long RecoveryDeadlineMs { get; internal set; } = -1;

    public long LastSwitchMs { get; internal set; } = -1;

    /// <summary>ATTACHED sub-flag after a switch (docs/session-spec.md §1.2), informational for the path manager.</summary>
    public long ProbationUntilMs { get; internal set; } = -1;

    public ReasonCode LastReason { get; internal set; }

    public long LastTransitionMs { get; internal set; }

    public int TotalSwitches { get; internal set; }

    /// <summary>Authenticated requests refused (counter only; never part of the FSM state).</summary>
    public long RejectedRequests { get; internal set; }

    public ReasonCode TerminationReason { get; internal set; }

    /// <summary>When the last REBIND_HINT was allowed (rate limit only; not FSM state).</summary>
    public long LastRebindHintMs { get; internal set; } = -1;
    public TransportAddress? LastRebindHintAddress { get; internal set; }

    public ulong CtrlSeqHighWater => CtrlSeq.HighWater;

    /// <summary>Successful switches in the last 60 s (the window the switch cap counts).</summary>
    public int SwitchesInWindow(long nowMs) => Switches.CountInWindow(nowMs);

    public SessionSnapshot Snapshot() => new(
        Id, State, StateVersion, BoundAtVersion, Binding, VolatileSinceMs, DegradedSinceMs, UnboundSinceMs,
        RecoveryDeadlineMs, LastSwitchMs, ProbationUntilMs, LastReason, LastTransitionMs, TotalSwitches,
        TerminationReason, Switches.Digest(), CtrlSeq.HighWater, CtrlSeq.Bitmap, Bucket.MilliTokens,
        Bucket.LastRefillMs, RejectedRequests, LastRebindHintMs);
}

/// <summary>
/// Every field of a <see cref="SessionRecord"/> as one comparable value: the tests compare snapshots to
/// prove "no mutation". <see cref="FsmOnly"/> blanks what an authenticated rejection may legitimately
/// change (ctrl_seq high-water, bucket, counters: docs/session-spec.md I16) and the REBIND_HINT rate-limit clock.
/// </summary>
public readonly record struct SessionSnapshot(
    SessionId Id,
    SessionState State,
    ulong StateVersion,
    ulong BoundAtVersion,
    TransportAddress? Binding,
    long VolatileSinceMs,
    long DegradedSinceMs,
    long UnboundSinceMs,
    long RecoveryDeadlineMs,
    long LastSwitchMs,
    long ProbationUntilMs,
    ReasonCode LastReason,
    long LastTransitionMs,
    int TotalSwitches,
    ReasonCode TerminationReason,
    long SwitchRingDigest,
    ulong CtrlSeqHighWater,
    UInt128 CtrlSeqBitmap,
    long BucketMilliTokens,
    long BucketLastRefillMs,
    long RejectedRequests,
    long LastRebindHintMs)
{
    public SessionSnapshot FsmOnly() => this with
    {
        CtrlSeqHighWater = 0,
        CtrlSeqBitmap = 0,
        BucketMilliTokens = 0,
        BucketLastRefillMs = 0,
        RejectedRequests = 0,
        LastRebindHintMs = 0,
    };
}
