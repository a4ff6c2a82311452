using System.Globalization;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>One abuse phase of one run of <see cref="ControlBench"/>'s receive-thread comparison.</summary>
internal sealed class AbuseScalingRow
{
    public required string Phase { get; init; }
    public int ReceiveThreads { get; init; }
    public int Run { get; init; }
    public double SentPps { get; init; }
    /// <summary>Everything the server's counters say it rejected, per second.</summary>
    public double RejectedPps { get; init; }
    public double ServerCpuPct { get; init; }
    public double PingLossPct { get; init; }
    public double PingP50Ms { get; init; }
    public double PingP99Ms { get; init; }
    /// <summary>The busiest receive thread's share of the datagrams in the phase (1 = one thread got all).</summary>
    public double BusiestThreadShare { get; init; }
    public long AllocatedBytesInPacketLoopsDelta { get; init; }
}

internal sealed partial class ControlBench
{
    /// <summary>
    /// `--abuse-only`: the abuse phases alone against a fresh server with <see cref="ControlBenchOptions.AbuseAt"/>
    /// sessions, once per receive-thread count of <see cref="ControlBenchOptions.ReceiveThreads"/>, the counts
    /// interleaved and the whole round repeated <see cref="ControlBenchOptions.AbuseRepeats"/> times, so a busy
    /// minute on the shared machine touches every count alike (docs/performance.md "Parallelism").
    /// </summary>
    private void AbuseScaling(BenchReport report)
    {
        IReadOnlyList<int> counts = _o.ReceiveThreads.Count > 0 ? _o.ReceiveThreads : [0];
        int index = 0;
        for (int run = 1; run <= _o.AbuseRepeats; run++)
        {
            foreach (int threads in counts)
            {
                string label = threads == 0 ? "default" : threads.ToString(CultureInfo.InvariantCulture);
                _log.WriteLine($"== abuse, {_o.AbuseAt} sessions, receive threads {label}, run {run}/{_o.AbuseRepeats} (load average {LoadAverage()})");
                report.AbuseScaling.AddRange(AbuseRun(threads, run, index++));
            }
        }
    }

    private List<AbuseScalingRow> AbuseRun(int threads, int run, int index)
    {
        int n = _o.AbuseAt;
        byte[] serverPrivate = new byte[32];
        X25519.GeneratePrivateKey(serverPrivate);
        byte[] serverPublic = new byte[32];
        X25519.DerivePublicKey(serverPrivate, serverPublic);
        var clients = new SimClient[n];
        Parallel.For(0, n, i =>
        {
            byte[] priv = new byte[32];
            X25519.GeneratePrivateKey(priv);
            clients[i] = new SimClient(i, priv, serverPublic, BenchServer.ClientInner(i));
        });
        var policy = new Dictionary<string, string>
        {
            ["transport_dead"] = "90s",
            ["max_sessions"] = (n + 1000).ToString(CultureInfo.InvariantCulture),
        };
        if (threads > 0)
        {
            policy["ReceiveThreads"] = threads.ToString(CultureInfo.InvariantCulture);
        }
        _captured.Clear();
        using BenchServer server = BenchServer.Start($"{_o.InterfacePrefix}a{index}", _o.Port + 50 + index, serverPrivate, clients, _o.WorkDirectory, policy, _log);
        using var gen = new LoadGenerator(clients, server.Endpoint, _o.Sockets);
        for (int i = 0; i < n; i++)
        {
            clients[i].Socket = i % gen.SocketCount;
        }
        using var keeper = new SessionKeeper(gen, TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(150));
        var sizes = new SizeResult { Requested = n };
        Establish(gen, clients, sizes);
        int actual = (int)server.Stats().GetValueOrDefault("receive_threads");
        _log.WriteLine($"  {gen.HelloAcks}/{n} sessions acked; the server runs {actual} receive thread(s)");
        Thread.Sleep(1000);
        var rows = new List<AbuseScalingRow>();
        AbuseResult result = Abuse(gen, server, clients, new Random(777 + index), (phase, before, after) =>
        {
            long total = 0;
            long busiest = 0;
            for (int t = 0; t < actual; t++)
            {
                string key = "packets_from_udp_thread_" + t.ToString(CultureInfo.InvariantCulture);
                long d = after.GetValueOrDefault(key) - before.GetValueOrDefault(key);
                total += d;
                busiest = Math.Max(busiest, d);
            }
            rows.Add(new AbuseScalingRow
            {
                Phase = phase.Name,
                ReceiveThreads = actual,
                Run = run,
                SentPps = phase.SentPps,
                RejectedPps = Rejected(phase),
                ServerCpuPct = phase.ServerCpuPct,
                PingLossPct = phase.PingLossPct,
                PingP50Ms = phase.PingP50Ms,
                PingP99Ms = phase.PingP99Ms,
                BusiestThreadShare = total == 0 ? double.NaN : (double)busiest / total,
                AllocatedBytesInPacketLoopsDelta = phase.AllocatedBytesInPacketLoopsDelta,
            });
        });
        _log.WriteLine($"  worst ping loss {result.PingLossPctMax:F2}% over the flood phases");
        keeper.Dispose();
        return rows;
    }

    private static double Rejected(AbusePhase p) =>
        p.UnknownIndexRejectedPps + p.BadMacRejectedPps + p.ReplayRejectedPps + p.HandshakesInvalidPps + p.CookieRepliesPps + p.AdmissionLimitedPps + p.HandshakeQueueFullPps;

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
