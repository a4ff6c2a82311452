using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Paths;

/// <summary>
/// One decision of the path manager, for the audit stream (issue: "every decision is an audit event
/// with its reason"): which path, what was decided, why, and the numbers it was decided on.
/// </summary>
public sealed record PathDecision(
    long AtMs,
    string Decision,
    string Interface,
    string? FromInterface,
    ReasonCode Reason,
    string Detail,
    double Score,
    double? FromScore);
