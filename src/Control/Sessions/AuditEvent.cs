namespace JumpingVpn.Control.Sessions;

/// <summary>
/// One audit event (docs/session-spec.md §6.2). A flat value type so the state machine can append events to a
/// caller-owned list without allocating; which optional fields are printed depends on
/// <see cref="Type"/> (see <see cref="JumpingVpn.Control.Audit.AuditLineWriter"/>). node_id is the writer's, not the event's.
/// </summary>
public readonly record struct AuditEvent
{
    public long TsMs { get; init; }

    public AuditEventType Type { get; init; }

    public SessionId SessionId { get; init; }

    public string PolicyVersion { get; init; }

    public ulong StateVersion { get; init; }

    public ReasonCode Reason { get; init; }

    /// <summary>STATE_CHANGE detail_code (QUALITY_THRESHOLD_EXCEEDED detail, switch reason, client's reason).</summary>
    public ReasonCode Detail { get; init; }

    public SessionState PreviousState { get; init; }

    public SessionState NewState { get; init; }

    public TransportAddress? PreviousTransport { get; init; }

    public TransportAddress? NewTransport { get; init; }

    public uint RetryAfterMs { get; init; }

    /// <summary>REATTACH_RESULT status: true = SUCCESS, false = DENIED.</summary>
    public bool Success { get; init; }

    public long SessionAgeMs { get; init; }

    public long TransportlessAgeMs { get; init; }

    public int TotalSwitches { get; init; }

    /// <summary>REATTACH_ATTEMPT: when RECOVERING ends (ms, same clock as ts_ms), or -1 when not recovering.</summary>
    public long RecoveryDeadlineMs { get; init; }

    /// <summary>AUDIT_GAP fields.</summary>
    public ulong FromVersion { get; init; }

    public ulong ToVersion { get; init; }

    public long DroppedCount { get; init; }
}
