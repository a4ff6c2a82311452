using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Paths;

public enum PathActionKind
{
    /// <summary>Send PATH_PROBE on the path (never binds) and report its ctrl_seq with OnProbeSent.</summary>
    Probe,

    /// <summary>Send REATTACH_REQUEST on the path; it becomes active only after the ACK (docs/session-spec.md §1.8).</summary>
    Reattach,

    /// <summary>No session to move (before HELLO_ACK, or plain WireGuard): just send through the path.</summary>
    Use,
}

/// <summary>One thing the path manager wants done; the caller does the I/O.</summary>
public readonly record struct PathAction(PathActionKind Kind, int PathId, ReasonCode Reason);
