using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>Result of one `ping` run. <see cref="LongestGap"/> is the longest time without a reply
/// (between consecutive replies, plus leading/trailing losses counted as intervals).</summary>
internal sealed record PingResult(int Transmitted, int Received, TimeSpan LongestGap, string Output)
{
    public double LossFraction => Transmitted == 0 ? 1 : 1 - ((double)Received / Transmitted);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Received}/{Transmitted} replies, loss {LossFraction:P1}, longest gap {LongestGap.TotalMilliseconds:0} ms");
}

internal static partial class Ping
{
    /// <summary>Sends <paramref name="count"/> echo requests every <paramref name="intervalMs"/> ms
    /// (`ping -D` timestamps each reply; -W 1 bounds the wait for the last one).</summary>
    public static PingResult Measure(NetNs ns, string target, int count, int intervalMs)
    {
        string interval = (intervalMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        TimeSpan timeout = TimeSpan.FromMilliseconds((double)count * intervalMs) + TimeSpan.FromSeconds(10);
        CommandResult result = ns.TryExec(
            "ping",
            ["-D", "-n", "-i", interval, "-W", "1", "-c", count.ToString(CultureInfo.InvariantCulture), target],
            timeout);
        return Parse(result.StandardOutput, intervalMs);
    }

    /// <summary>Single pings (1 s wait each) until one is answered or <paramref name="timeout"/> passes.</summary>
    public static bool WaitForReply(NetNs ns, string target, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (ns.TryExec("ping", ["-n", "-c", "1", "-W", "1", target], TimeSpan.FromSeconds(5)).ExitCode == 0)
            {
                return true;
            }
            Thread.Sleep(100);
        }
        return false;
    }

    internal static PingResult Parse(string output, int intervalMs)
    {
        var seen = new HashSet<int>();
        var replies = new List<(int Seq, double Time)>();
        foreach (Match m in ReplyLine().Matches(output))
        {
            int seq = int.Parse(m.Groups["seq"].Value, CultureInfo.InvariantCulture);
            if (seen.Add(seq))
            {
                replies.Add((seq, double.Parse(m.Groups["ts"].Value, CultureInfo.InvariantCulture)));
            }
        }
        Match summary = SummaryLine().Match(output);
        int transmitted = summary.Success ? int.Parse(summary.Groups["tx"].Value, CultureInfo.InvariantCulture) : 0;
        int received = summary.Success ? int.Parse(summary.Groups["rx"].Value, CultureInfo.InvariantCulture) : replies.Count;

        double interval = intervalMs / 1000.0;
        double longest;
        if (replies.Count == 0)
        {
            longest = transmitted * interval;
        }
        else
        {
            replies.Sort((a, b) => a.Time.CompareTo(b.Time));
            // Losses before the first and after the last reply, measured in send intervals.
            longest = Math.Max((replies[0].Seq - 1) * interval, (transmitted - replies[^1].Seq) * interval);
            for (int i = 1; i < replies.Count; i++)
            {
                longest = Math.Max(longest, replies[i].Time - replies[i - 1].Time);
            }
        }
        return new PingResult(transmitted, received, TimeSpan.FromSeconds(longest), output);
    }

    // [1700000000.123456] 64 bytes from 10.77.0.1: icmp_seq=1 ttl=64 time=0.512 ms
    [GeneratedRegex(@"^\[(?<ts>\d+\.\d+)\] \d+ bytes from .*icmp_seq=(?<seq>\d+)", RegexOptions.Multiline)]
    private static partial Regex ReplyLine();

    // 20 packets transmitted, 19 received, 5% packet loss, time 950ms
    [GeneratedRegex(@"(?<tx>\d+) packets transmitted, (?<rx>\d+) (packets )?received")]
    private static partial Regex SummaryLine();
}
