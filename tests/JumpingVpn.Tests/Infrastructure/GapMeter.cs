using System.Globalization;
using System.Text.RegularExpressions;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>What a <see cref="GapMeter"/> saw. <see cref="LongestGap"/> is <see cref="PingResult.LongestGap"/>
/// (time without replies); <see cref="GapStartsAfter"/> says when the longest gap between two replies
/// began, counted from the meter's start, so a test can tell it lines up with the event it caused
/// (null when there were fewer than two replies).</summary>
internal sealed record GapReport(PingResult Ping, DateTimeOffset StartedAt, TimeSpan? GapStartsAfter, IReadOnlyList<double> ReplyTimes)
{
    public TimeSpan LongestGap => Ping.LongestGap;

    /// <summary>The silence that spans <paramref name="moment"/>: from the last reply before it to
    /// the first reply after it (null if there is no reply on one side). This is the event's own
    /// service gap, where <see cref="LongestGap"/> may come from unrelated jitter elsewhere in the run.</summary>
    public TimeSpan? GapAround(DateTimeOffset moment)
    {
        double at = moment.ToUnixTimeMilliseconds() / 1000.0;
        for (int i = 1; i < ReplyTimes.Count; i++)
        {
            if (ReplyTimes[i] >= at)
            {
                return ReplyTimes[i - 1] <= at ? TimeSpan.FromSeconds(ReplyTimes[i] - ReplyTimes[i - 1]) : null;
            }
        }
        return null;
    }

    public override string ToString() => GapStartsAfter is TimeSpan at
        ? string.Create(CultureInfo.InvariantCulture, $"{Ping} (longest gap between replies starts at +{at.TotalSeconds:0.00} s)")
        : Ping.ToString();
}

/// <summary>
/// Measures the service gap of an event: `ping -D -i 0.05` runs in the background for a fixed
/// duration while the test does something (a NAT rebinding, a path switch), then the longest time
/// without a reply is read off the reply timestamps (Ping.Parse). 50 ms pings bound the resolution:
/// a clean path shows a longest gap of about one interval.
/// </summary>
internal sealed partial class GapMeter
{
    private readonly Task<PingResult> _ping;

    private GapMeter(Task<PingResult> ping, DateTimeOffset startedAt)
    {
        _ping = ping;
        StartedAt = startedAt;
    }

    public DateTimeOffset StartedAt { get; }

    public static GapMeter Start(NetNs ns, string target, TimeSpan duration, int intervalMs = 50)
    {
        int count = (int)Math.Ceiling(duration.TotalMilliseconds / intervalMs);
        DateTimeOffset startedAt = DateTimeOffset.UtcNow;
        // Ping.Measure blocks for the whole run (bounded by its own timeout), so it gets a thread.
        Task<PingResult> ping = Task.Factory.StartNew(
            () => Ping.Measure(ns, target, count, intervalMs),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        return new GapMeter(ping, startedAt);
    }

    /// <summary>Waits for the ping run to end (its duration plus at most ~11 s of timeouts).</summary>
    public GapReport Wait()
    {
        PingResult result = _ping.GetAwaiter().GetResult();
        List<double> times = ReplyTimes(result.Output);
        return new GapReport(result, StartedAt, LongestGapStart(times, StartedAt), times);
    }

    /// <summary>Reply timestamps (`ping -D`, Unix seconds), sorted.</summary>
    internal static List<double> ReplyTimes(string pingOutput)
    {
        var times = new List<double>();
        foreach (Match m in ReplyTimestamp().Matches(pingOutput))
        {
            times.Add(double.Parse(m.Groups["ts"].Value, CultureInfo.InvariantCulture));
        }
        times.Sort();
        return times;
    }

    internal static TimeSpan? LongestGapStart(List<double> times, DateTimeOffset startedAt)
    {
        if (times.Count < 2)
        {
            return null;
        }
        int longestAt = 1;
        for (int i = 2; i < times.Count; i++)
        {
            if (times[i] - times[i - 1] > times[longestAt] - times[longestAt - 1])
            {
                longestAt = i;
            }
        }
        double start = times[longestAt - 1] - (startedAt.ToUnixTimeMilliseconds() / 1000.0);
        return TimeSpan.FromSeconds(Math.Max(0, start));
    }

    // [1700000000.123456] 64 bytes from 10.77.0.1: icmp_seq=1 ttl=64 time=0.512 ms
    [GeneratedRegex(@"^\[(?<ts>\d+\.\d+)\] \d+ bytes from ", RegexOptions.Multiline)]
    private static partial Regex ReplyTimestamp();
}
