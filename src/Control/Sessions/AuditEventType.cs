namespace JumpingVpn.Control.Sessions;

/// <summary>Audit event types of docs/session-spec.md §6.2 (printed UPPER_SNAKE). Append, never renumber.</summary>
public enum AuditEventType : byte
{
    SessionCreated = 1,
    StateChange = 2,
    TransportAttached = 3,
    TransportSwitch = 4,
    TransportSwitchDenied = 5,
    ReattachAttempt = 6,
    ReattachResult = 7,
    SessionTerminated = 8,
    SecurityEvent = 9,
    AuditGap = 10,
}
