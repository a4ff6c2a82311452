using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Paths;

/// <summary>
/// A completed switch for `jvpn status`: from where to where, why, and the gap (the time from the last
/// authenticated reply on the old path to the ACK on the new one).
/// </summary>
public readonly record struct PathSwitchRecord(long AtMs, string From, string To, ReasonCode Reason, long GapMs);
