namespace JumpingVpn.Ui.Tunnel.Timeline;

/// <summary>
/// What <c>GET /api/tunnel/{name}/timeline</c> returns (docs/ui.md "Timeline"): column arrays, one entry per sample,
/// so five minutes of a tunnel are a few kilobytes of JSON and the page hands them to uPlot as they are.
/// </summary>
/// <param name="NowMs">The recorder's clock when the series was read (Unix ms).</param>
/// <param name="WindowMs">How far back the recorder keeps samples.</param>
/// <param name="T">Sample times (Unix ms), ascending.</param>
/// <param name="RxBps">Bytes per second received since the previous sample; null for the first and after a counter reset.</param>
/// <param name="TxBps">Bytes per second sent, as <paramref name="RxBps"/>.</param>
/// <param name="ActiveLink">Per sample, the index in <paramref name="Links"/> of the path that carried the tunnel, -1 for none.</param>
/// <param name="Links">Every link seen in the window, in the order they were first seen.</param>
/// <param name="Switches">Switches after the requested time, oldest first.</param>
public sealed record TimelineSeries(
    long NowMs,
    long WindowMs,
    long IntervalMs,
    long[] T,
    double?[] RxBps,
    double?[] TxBps,
    int[] ActiveLink,
    IReadOnlyList<TimelineLink> Links,
    IReadOnlyList<TimelineSwitch> Switches);

/// <summary>One link's columns: smoothed RTT (ms) and loss fraction per sample, null where the link was absent or unmeasured.</summary>
public sealed record TimelineLink(string Name, double?[] RttMs, double?[] Loss);
