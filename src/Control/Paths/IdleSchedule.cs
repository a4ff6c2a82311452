using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Paths;

/// <summary>
/// How often an idle client speaks (docs/paths.md "Idle"), as pure arithmetic on the policy and three
/// times, so the client's sweep and the path manager agree and tests run it on a manual clock.
/// While data flowed within idle_after the heartbeat stays at heartbeat_interval (a NAT that remaps
/// right after traffic stops is noticed within one interval). After that every gap is as long as the
/// idle time so far, which doubles it at each keepalive, up to idle_keepalive_interval.
/// </summary>
public static class IdleSchedule
{
    /// <summary>True when no data packet moved (either direction) for idle_after.</summary>
    public static bool IsIdle(SessionPolicy policy, long lastDataMs, long nowMs) =>
        lastDataMs < 0 || nowMs - lastDataMs >= policy.IdleAfterMs;

    /// <summary>
    /// The gap to wait after a keepalive sent at <paramref name="sentMs"/>, given the last data packet at
    /// <paramref name="lastDataMs"/> (-1: none since the session started).
    /// </summary>
    public static long GapAfter(SessionPolicy policy, long sentMs, long lastDataMs)
    {
        long idleSince = lastDataMs < 0 ? long.MinValue / 4 : lastDataMs + policy.IdleAfterMs;
        long idleFor = sentMs - idleSince;
        return Math.Clamp(idleFor, policy.HeartbeatIntervalMs, policy.IdleKeepaliveIntervalMs);
    }

    /// <summary>
    /// When the next keepalive is due after one sent at <paramref name="lastSentMs"/>. Data traffic moves
    /// the schedule back to the fast heartbeat at once (the gap shrinks, never waits out a long one).
    /// </summary>
    public static long NextDueMs(SessionPolicy policy, long lastSentMs, long lastDataMs) =>
        lastSentMs + GapAfter(policy, Math.Max(lastSentMs, lastDataMs), lastDataMs);
}
