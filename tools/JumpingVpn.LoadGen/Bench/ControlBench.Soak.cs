using System.Diagnostics;

namespace JumpingVpn.LoadGen.Bench;

internal sealed partial class ControlBench
{
    /// <summary>
    /// Churn soak: for <see cref="ControlBenchOptions.SoakSeconds"/>, every session reattaches from a new NAT
    /// mapping about once a minute (N/60 per second) while the keeper sends keepalives and rekeys; the
    /// server's RSS is sampled every 5 s. Flat state means the last sample is not above the first beyond noise.
    /// </summary>
    private SoakResult Soak(LoadGenerator gen, BenchServer server, Random rng, SessionKeeper keeper)
    {
        var result = new SoakResult { Seconds = _o.SoakSeconds, Sessions = gen.Clients.Count(c => !c.SessionId.IsNone) };
        double perSecond = Math.Max(1, result.Sessions / 60.0);
        var sw = Stopwatch.StartNew();
        double carry = 0;
        long nextSample = 0;
        long doneBefore = gen.ReattachesDone;
        while (sw.Elapsed.TotalSeconds < _o.SoakSeconds)
        {
            if (sw.ElapsedMilliseconds >= nextSample)
            {
                result.RssSamples.Add(server.RssBytes());
                nextSample += 5000;
            }
            Thread.Sleep(100);
            carry += perSecond / 10;
            while (carry >= 1)
            {
                carry -= 1;
                SimClient c = gen.Clients[rng.Next(gen.Clients.Length)];
                bool idle;
                lock (c)
                {
                    idle = c.Pending == PendingOp.None && !c.SessionId.IsNone;
                }
                if (idle)
                {
                    result.ReattachesSent++;
                    gen.SendReattach(c, (c.Socket + 1 + rng.Next(gen.SocketCount - 1)) % gen.SocketCount, -1);
                }
            }
            // Requests that got no ACK (lost, or refused by cooldown/switch cap) are released after 2 s.
            foreach (SimClient c in gen.Clients)
            {
                lock (c)
                {
                    if (c.Pending == PendingOp.Reattach && LoadGenerator.TicksToMs(LoadGenerator.NowTicks() - c.PendingSinceTicks) > 2000)
                    {
                        c.Pending = PendingOp.None;
                    }
                }
            }
        }
        result.RssSamples.Add(server.RssBytes());
        result.ReattachesAcked = gen.ReattachesDone - doneBefore;
        result.Rekeys = keeper.Rekeys;
        // Growth is judged from the first sample after warm-up (10 s) to the last one.
        long start = result.RssSamples[Math.Min(2, result.RssSamples.Count - 1)];
        result.RssGrowthBytes = result.RssSamples[^1] - start;
        result.RssGrowthBytesPerSession = (double)result.RssGrowthBytes / Math.Max(1, result.Sessions);
        _log.WriteLine($"  soak {result.Seconds:F0} s: {result.ReattachesSent} reattaches sent, {result.ReattachesAcked} acked, {result.Rekeys} rekeys; " +
            $"RSS {start / 1048576.0:F1} -> {result.RssSamples[^1] / 1048576.0:F1} MiB ({result.RssGrowthBytesPerSession:F1} B/session)");
        return result;
    }
}
