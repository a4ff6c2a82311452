namespace JumpingVpn.Control.Sessions;

/// <summary>The six server-authoritative states of docs/design.md §3 / docs/session-spec.md §1.2 (no REATTACHING).</summary>
public enum SessionState : byte
{
    Birth = 0,
    Attached = 1,
    Volatile = 2,
    Degraded = 3,
    Recovering = 4,
    Terminated = 5,
}
