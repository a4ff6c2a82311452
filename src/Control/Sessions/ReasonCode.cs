namespace JumpingVpn.Control.Sessions;

/// <summary>
/// The canonical UPPER_SNAKE reason codes (docs/session-spec.md §1.4, §2.4, Appendix A). The numeric values are
/// the u16 carried by control frames (docs/protocol.md), so they are fixed: append, never renumber.
/// The text form (<see cref="WireNames.Of(ReasonCode)"/>) is the enum name in UPPER_SNAKE.
/// </summary>
public enum ReasonCode : ushort
{
    None = 0,

    // Transition reasons (one per row of the table in docs/session-spec.md §1.4).
    HandshakeOk = 1,
    HandshakeFail = 2,
    QualityThresholdExceeded = 3,
    TransportDead = 4,
    HealthRecovered = 5,
    VolatilePersisted = 6,
    ReattachSuccess = 7,
    SwitchRateLimited = 8,
    RecoveryBoundsExceeded = 9,
    ExitDegradedMode = 10,
    TransportLossTtlExpired = 11,
    SessionTtlExpired = 12,
    ClientTerminated = 13,
    OperatorTerminated = 14,
    SecurityFailure = 15,
    KeyExpired = 16,
    OwnershipConflict = 17,
    FatalProtocolError = 18,
    PolicyTermination = 19,

    // Detail codes of QUALITY_THRESHOLD_EXCEEDED (T3).
    LossThresholdExceeded = 32,
    ConsecutiveDropExceeded = 33,
    HeartbeatTimeout = 34,
    LatencyThresholdExceeded = 35,
    JitterThresholdExceeded = 36,

    // Switch reasons carried by REATTACH_REQUEST (T7 detail).
    TransportDeadRecovery = 48,
    LossRecovery = 49,
    PreferredPathChanged = 50,
    NatRebind = 51,
    PolicyForced = 52,

    // Rejections (docs/session-spec.md §2.4, §2.5) and [P] additions.
    MalformedMessage = 64,
    UnsupportedProtocolVersion = 65,
    RateLimited = 66,
    SessionNotFound = 67,
    SessionTerminated = 68,
    NotAuthoritativeOwner = 69,
    InvalidStateForReattach = 70,
    InvalidStateTransition = 71,
    ReplayDetected = 72,
    FreshnessInvalid = 73,
    AuthFail = 74,
    StaleStateVersion = 75,
    InvalidTransportCandidate = 76,
    CooldownActive = 77,
    PolicyDeny = 78,
    NoValidCandidate = 79,
    StoreUnavailable = 80,
    AtomicityFailed = 81,
    DualBindForbidden = 82,
    SessionLimitReached = 83,

    // Detail of TRANSPORT_DEAD when a new node takes over a session whose owner died (docs/session-spec.md §5.2.3).
    OwnerFailover = 84,

    // Why a node sends SESSION_MOVE: it is draining for planned maintenance (docs/cluster.md "Drain").
    NodeDrain = 85,
}
