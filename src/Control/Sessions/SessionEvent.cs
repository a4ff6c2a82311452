namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Inputs to the state machine (docs/session-spec.md §1.3). Clock-driven events (recovery window, transport-loss
/// TTL, lifetime, volatile-persisted, handshake timeout, degraded max) are not inputs: they fire from the
/// record's deadlines before any input is applied (§1.5), or on <see cref="Tick"/>. Measurement events
/// (quality, stability, transport dead) come from the data plane's health monitor, which owns the guards
/// "sustained for debounce / stability_window / transport_dead".
/// </summary>
public enum SessionEventKind : byte
{
    /// <summary>Periodic sweep: fire due timers only.</summary>
    Tick,
    /// <summary>First authenticated HELLO after the handshake (T1).</summary>
    HandshakeConfirmed,
    QualityViolation,
    StabilityRestored,
    TransportDead,
    KeyExpired,
    OwnershipConflict,
    InvariantViolation,
    OperatorTerminate,
    SecurityViolation,
    ClientTerminate,
    ReattachRequest,
    Keepalive,
    PathProbe,
}

/// <summary>
/// One input. <see cref="Authenticated"/> says the frame came out of a valid AEAD open with this
/// session's keypair (the data plane did that: docs/design.md §2.2); unauthenticated input never changes a
/// session (docs/session-spec.md I15).
/// </summary>
public readonly record struct SessionEvent(SessionEventKind Kind)
{
    public bool Authenticated { get; init; }

    /// <summary>Observed source address of the frame (binding candidate for T1/T7).</summary>
    public TransportAddress Source { get; init; }

    public ulong CtrlSeq { get; init; }

    /// <summary>REATTACH_REQUEST: the client's last acknowledged state_version.</summary>
    public ulong LastAckedVersion { get; init; }

    /// <summary>Switch reason (reattach), detail code (quality), or the peer's reason (terminate).</summary>
    public ReasonCode Reason { get; init; }

    public static SessionEvent Tick() => new(SessionEventKind.Tick);

    public static SessionEvent HandshakeConfirmed(TransportAddress source, ulong ctrlSeq = 0, bool authenticated = true) =>
        new(SessionEventKind.HandshakeConfirmed) { Source = source, CtrlSeq = ctrlSeq, Authenticated = authenticated };

    public static SessionEvent Reattach(TransportAddress source, ulong ctrlSeq, ulong lastAckedVersion, ReasonCode switchReason, bool authenticated = true) =>
        new(SessionEventKind.ReattachRequest) { Source = source, CtrlSeq = ctrlSeq, LastAckedVersion = lastAckedVersion, Reason = switchReason, Authenticated = authenticated };

    public static SessionEvent ClientTerminate(ulong ctrlSeq, ReasonCode reason = ReasonCode.ClientTerminated, bool authenticated = true) =>
        new(SessionEventKind.ClientTerminate) { CtrlSeq = ctrlSeq, Reason = reason, Authenticated = authenticated };

    public static SessionEvent Keepalive(ulong ctrlSeq, bool authenticated = true) =>
        new(SessionEventKind.Keepalive) { CtrlSeq = ctrlSeq, Authenticated = authenticated };

    public static SessionEvent PathProbe(TransportAddress source, ulong ctrlSeq, bool authenticated = true) =>
        new(SessionEventKind.PathProbe) { Source = source, CtrlSeq = ctrlSeq, Authenticated = authenticated };

    public static SessionEvent QualityViolation(ReasonCode detail) => new(SessionEventKind.QualityViolation) { Reason = detail, Authenticated = true };

    /// <summary>An internal (server-side) event: timers, health monitor, operator, store.</summary>
    public static SessionEvent Internal(SessionEventKind kind) => new(kind) { Authenticated = true };

    /// <summary>Events that arrive in a frame from the peer and therefore need the AEAD's proof.</summary>
    public bool IsFromPeer => Kind is SessionEventKind.HandshakeConfirmed or SessionEventKind.ClientTerminate
        or SessionEventKind.ReattachRequest or SessionEventKind.Keepalive or SessionEventKind.PathProbe;
}

public enum SessionOutcomeKind : byte
{
    /// <summary>The input itself caused a transition (state_version advanced).</summary>
    Transitioned,
    /// <summary>Accepted without a transition (keepalive, probe, telemetry no-op, a tick with nothing due).</summary>
    Accepted,
    /// <summary>Refused; <see cref="SessionOutcome.Reason"/> says why.</summary>
    Rejected,
}

/// <summary>
/// Result of <see cref="SessionMachine.Apply"/>. <see cref="Transitions"/> counts every transition the
/// call made, including timers that fired first (so a reattach after the TTL is Rejected with
/// Transitions = 1: TERMINATED fired, then the request was refused).
/// </summary>
public readonly record struct SessionOutcome(SessionOutcomeKind Kind, ReasonCode Reason, ulong StateVersion, uint RetryAfterMs, int Transitions)
{
    public bool IsRejected => Kind == SessionOutcomeKind.Rejected;
}
