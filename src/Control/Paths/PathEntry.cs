namespace JumpingVpn.Control.Paths;

/// <summary>
/// Measurements of one path: smoothed RTT (EWMA α = 0.25, docs/session-spec.md §2.8), loss over the last
/// <see cref="Window"/> resolved probes, and the age of the last authenticated reply. Fixed size, so a
/// client's state stays bounded however long it runs.
/// </summary>
public sealed class PathEntry
{
    /// <summary>Probes remembered for the loss ratio: 8 s of history at the default 500 ms interval.</summary>
    public const int Window = 16;

    private readonly ulong[] _seq = new ulong[Window];
    private readonly long[] _sentMs = new long[Window];
    private readonly bool[] _acked = new bool[Window];
    private int _next;
    private int _count;

    internal PathEntry(int id, PathInfo info, long nowMs)
    {
        Id = id;
        Info = info;
        AddedMs = nowMs;
    }

    public int Id { get; }

    public PathInfo Info { get; internal set; }

    public PathState State { get; internal set; } = PathState.Probing;

    public long AddedMs { get; }

    /// <summary>Smoothed RTT in ms; negative until the first sample.</summary>
    public double SrttMs { get; private set; } = -1;

    /// <summary>Last authenticated packet received on this path (any frame or data); -1 never.</summary>
    public long LastReplyMs { get; internal set; } = -1;

    /// <summary>Start of the current run of answered probes; -1 while the last probe went unanswered.</summary>
    public long HealthySinceMs { get; internal set; } = -1;

    public int ConsecutiveLost { get; private set; }

    /// <summary>Next probe due (monotonic ms).</summary>
    internal long NextProbeMs { get; set; }

    /// <summary>A rejected reattach on this path: not a candidate before this time.</summary>
    internal long PenaltyUntilMs { get; set; } = -1;

    /// <summary>How long an unanswered probe is given before it counts as lost.</summary>
    public long ProbeTimeoutMs => SrttMs < 0 ? 1_000 : Math.Clamp((long)(SrttMs * 4), 200, 1_000);

    internal void ProbeSent(ulong seq, long nowMs)
    {
        _seq[_next] = seq;
        _sentMs[_next] = nowMs;
        _acked[_next] = false;
        _next = (_next + 1) % Window;
        _count = Math.Min(_count + 1, Window);
    }

    /// <summary>Records the answer to probe <paramref name="seq"/>; false if it is not one of ours (or too old).</summary>
    internal bool ProbeAcked(ulong seq, long nowMs)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_seq[i] == seq && !_acked[i])
            {
                _acked[i] = true;
                double sample = Math.Max(0, nowMs - _sentMs[i]);
                SrttMs = SrttMs < 0 ? sample : (0.75 * SrttMs) + (0.25 * sample);
                LastReplyMs = Math.Max(LastReplyMs, nowMs);
                ConsecutiveLost = 0;
                if (HealthySinceMs < 0)
                {
                    HealthySinceMs = nowMs;
                }
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Loss ratio over the probes whose answer deadline has passed (answered ones count at once), and
    /// how many such samples there are; updates the consecutive-loss count and the healthy streak.
    /// </summary>
    internal (double Loss, int Samples) Loss(long nowMs)
    {
        int resolved = 0;
        int lost = 0;
        long timeout = ProbeTimeoutMs;
        long newestLostMs = -1;
        for (int i = 0; i < _count; i++)
        {
            if (_acked[i])
            {
                resolved++;
            }
            else if (nowMs - _sentMs[i] > timeout)
            {
                resolved++;
                lost++;
                newestLostMs = Math.Max(newestLostMs, _sentMs[i]);
            }
        }
        if (newestLostMs >= 0 && newestLostMs >= HealthySinceMs && HealthySinceMs >= 0 && newestLostMs > LastAckSentMs())
        {
            HealthySinceMs = -1; // the streak ends at the newest lost probe not followed by an answered one
        }
        ConsecutiveLost = CountTrailingLost(nowMs, timeout);
        return (resolved == 0 ? 0 : (double)lost / resolved, resolved);
    }

    /// <summary>Loss for display (same numbers as the decisions use).</summary>
    public (double Loss, int Samples) LossForStatus(long nowMs) => Loss(nowMs);

    private long LastAckSentMs()
    {
        long newest = -1;
        for (int i = 0; i < _count; i++)
        {
            if (_acked[i])
            {
                newest = Math.Max(newest, _sentMs[i]);
            }
        }
        return newest;
    }

    private int CountTrailingLost(long nowMs, long timeout)
    {
        int lost = 0;
        for (int k = 1; k <= _count; k++)
        {
            int i = ((_next - k) % Window + Window) % Window;
            if (_acked[i])
            {
                break;
            }
            if (nowMs - _sentMs[i] > timeout)
            {
                lost++;
            }
        }
        return lost;
    }

    /// <summary>docs/session-spec.md §2.8: score = 100 − 200·loss − 0.1·rtt (jitter is not measured separately).</summary>
    internal double Score(double loss) => 100 - (200 * loss) - (0.1 * Math.Max(0, SrttMs));
}
