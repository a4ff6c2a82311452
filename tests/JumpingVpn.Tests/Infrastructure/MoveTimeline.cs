using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// One session move as a timeline (docs/cluster.md "Drain", "Where the time goes"): the `move-trace` lines the
/// nodes and the client log at `JVPN_LOG=debug` (monotonic µs, one clock for every process on the machine),
/// merged with the client's ping (`ping -D`: each reply's wall-clock time and round trip, so also when its
/// request left). Times are ms from the draining node's first SESSION_MOVE.
/// </summary>
internal sealed partial class MoveTimeline
{
    private readonly List<(double Ms, string Who, string Step, string Detail)> _steps = [];

    /// <summary>Ping requests around the move: when each left and when (or whether) its reply came, ms from the move.</summary>
    private readonly List<(int Seq, double SentMs, double? RepliedMs)> _pings = [];

    /// <summary>Monotonic µs of the first SESSION_MOVE (null when the trace has none).</summary>
    public double? MoveSentUs { get; private set; }

    /// <summary>Ms from the first SESSION_MOVE to each step's first occurrence, by "who step".</summary>
    public IReadOnlyDictionary<string, double> FirstAt { get; private set; } = new Dictionary<string, double>();

    /// <summary>The last reply before the move (ms, negative) and the first reply whose request left after the move.</summary>
    public (double? LastBefore, double? FirstAfter) Replies { get; private set; }

    /// <summary>
    /// Builds the timeline from each process's captured output (name -> output) and the client's `ping -D` output;
    /// the ping's wall-clock times are put on the monotonic clock by sampling both clocks here.
    /// </summary>
    public static MoveTimeline Build(IReadOnlyList<(string Who, string Output)> outputs, string pingOutput, int intervalMs)
    {
        var t = new MoveTimeline();
        var raw = new List<(double Us, string Who, string Step, string Detail)>();
        foreach ((string who, string output) in outputs)
        {
            foreach (Match m in TraceLine().Matches(output))
            {
                raw.Add((double.Parse(m.Groups["us"].Value, CultureInfo.InvariantCulture), who, m.Groups["step"].Value, m.Groups["detail"].Value.Trim()));
            }
        }
        raw.Sort((a, b) => a.Us.CompareTo(b.Us));
        int first = raw.FindIndex(r => r.Step == "drain.move_sent");
        if (first < 0)
        {
            return t;
        }
        double origin = raw[first].Us;
        t.MoveSentUs = origin;
        var firstAt = new Dictionary<string, double>();
        foreach ((double us, string who, string step, string detail) in raw)
        {
            double ms = (us - origin) / 1000.0;
            if (ms < -2000 || ms > 2000)
            {
                continue;
            }
            t._steps.Add((ms, who, step, detail));
            firstAt.TryAdd(who + " " + step, ms);
        }
        t.FirstAt = firstAt;
        double wallMinusMonoUs = WallMinusMonotonicUs();
        double? lastBefore = null;
        double? firstAfter = null;
        int lastSeq = -1;
        double lastSent = double.NaN;
        var replied = new Dictionary<int, (double Sent, double Replied)>();
        foreach (Match m in PingReply().Matches(pingOutput))
        {
            double wallUs = double.Parse(m.Groups["ts"].Value, CultureInfo.InvariantCulture) * 1e6;
            double rttUs = double.Parse(m.Groups["rtt"].Value, CultureInfo.InvariantCulture) * 1000;
            int seq = int.Parse(m.Groups["seq"].Value, CultureInfo.InvariantCulture);
            double repliedMs = (wallUs - wallMinusMonoUs - origin) / 1000.0;
            double sentMs = repliedMs - rttUs / 1000.0;
            replied[seq] = (sentMs, repliedMs);
            if (sentMs < 0 && (lastBefore is null || repliedMs > lastBefore))
            {
                lastBefore = repliedMs;
            }
            if (sentMs >= 0 && (firstAfter is null || repliedMs < firstAfter))
            {
                firstAfter = repliedMs;
            }
            if (seq > lastSeq)
            {
                lastSeq = seq;
                lastSent = sentMs;
            }
        }
        t.Replies = (lastBefore, firstAfter);
        if (lastSeq >= 0)
        {
            // Requests without a reply: when they left is estimated from the interval (ping sends on its schedule).
            for (int seq = 1; seq <= lastSeq; seq++)
            {
                double sent = replied.TryGetValue(seq, out var r) ? r.Sent : lastSent - (lastSeq - seq) * intervalMs;
                if (sent > -150 && sent < 400)
                {
                    t._pings.Add((seq, sent, replied.TryGetValue(seq, out var r2) ? r2.Replied : null));
                }
            }
        }
        return t;
    }

    /// <summary>The merged table, one line per step, then the pings around the move.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (MoveSentUs is null)
        {
            return "move trace: no drain.move_sent line (is JVPN_LOG=debug set?)";
        }
        sb.Append("move trace (ms from the first SESSION_MOVE, one monotonic clock):\n");
        foreach ((double ms, string who, string step, string detail) in _steps)
        {
            if (ms >= -300 && ms <= 600)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {ms,8:0.0}  {who,-7} {step} {detail}\n");
            }
        }
        sb.Append("pings around the move (seq: sent -> replied, ms):");
        foreach ((int seq, double sent, double? rep) in _pings)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {seq}:{sent:0}->{(rep is double r ? r.ToString("0", CultureInfo.InvariantCulture) : "lost")}");
        }
        sb.Append(CultureInfo.InvariantCulture, $"\nlast reply before the move {Replies.LastBefore:0.0} ms, first reply to a request sent after it {Replies.FirstAfter:0.0} ms");
        // Make-before-break: the client sends through the old node (which keeps forwarding) until its handshake
        // with the target completes; from then on its traffic waits for the target to forward.
        double? switched = FirstAt.TryGetValue("client client.keys_installed", out double k) ? k : null;
        double? resumed = FirstAt.TryGetValue("node-2 target.forwarding", out double b) ? b : FirstAt.TryGetValue("node-3 target.forwarding", out double c) ? c : null;
        double? stopped = FirstAt.TryGetValue("node-1 drain.forwarding_stopped", out double a) ? a : null;
        if (switched is double sw && resumed is double re)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\nforwarding: client switched to the target at {sw:0.0} ms, the target forwards from {re:0.0} ms: {Math.Max(0, re - sw):0.0} ms in which the client's traffic reaches no forwarding node; the old node stopped forwarding at {stopped:0.0} ms");
        }
        return sb.ToString();
    }

    /// <summary>Wall-clock µs minus monotonic µs, from the closest pair of readings out of a few.</summary>
    private static double WallMinusMonotonicUs()
    {
        double best = 0;
        long bestSpan = long.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long a = Stopwatch.GetTimestamp();
            long wallTicks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
            long b = Stopwatch.GetTimestamp();
            if (b - a < bestSpan)
            {
                bestSpan = b - a;
                double monoUs = (a + b) / 2.0 * 1e6 / Stopwatch.Frequency;
                best = wallTicks / 10.0 - monoUs;
            }
        }
        return best;
    }

    // ... move-trace client.move_received session=3f2a... mono_us=123456789 detail
    [GeneratedRegex(@"move-trace (?<step>[a-z_.]+) session=\S+ mono_us=(?<us>\d+)(?<detail>[^\r\n]*)")]
    private static partial Regex TraceLine();

    // [1700000000.123456] 64 bytes from 10.77.0.1: icmp_seq=1 ttl=64 time=0.512 ms
    [GeneratedRegex(@"^\[(?<ts>\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(?<seq>\d+) ttl=\d+ time=(?<rtt>[\d.]+) ms", RegexOptions.Multiline)]
    private static partial Regex PingReply();
}
