namespace JumpingVpn.Ui.Tunnel.Timeline;

/// <summary>One path switch on the timeline: when it happened (Unix ms), between which links, why, and the gap the user saw.</summary>
/// <param name="Reason">The switch reason's wire name, e.g. <c>TRANSPORT_DEAD_RECOVERY</c>.</param>
/// <param name="GapMs">From the old path's last reply to the new path carrying the tunnel (docs/paths.md).</param>
/// <param name="Text">The sentence the pages show, e.g. "wlan0 lost → moved to cell0 in 58 ms".</param>
public sealed record TimelineSwitch(long AtMs, string From, string To, string Reason, long GapMs, string Text);
