using System.Diagnostics;
using System.Globalization;
using System.Text;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.LoadGen.Bench;

internal sealed partial class ControlBench
{
    /// <summary>
    /// Runtime peer changes through the control socket: one UAPI set=1 adds 1000
    /// new peers, one removes them again, and one removes 100 peers that have live sessions (their
    /// sessions must end OPERATOR_TERMINATED). Meanwhile another thread measures keepalive round trips of
    /// other sessions: "without disturbing others" is their p99 and their losses.
    /// </summary>
    private void PeerChurn(LoadGenerator gen, BenchServer server, Random rng, SizeResult r)
    {
        const int Added = 1000;
        int removedLive = Math.Min(100, gen.Clients.Length / 10);
        var add = new StringBuilder();
        var remove = new StringBuilder();
        byte[] priv = new byte[32], pub = new byte[32];
        for (int i = 0; i < Added; i++)
        {
            X25519.GeneratePrivateKey(priv);
            X25519.DerivePublicKey(priv, pub);
            string hex = Convert.ToHexStringLower(pub);
            add.Append(CultureInfo.InvariantCulture, $"public_key={hex}\nallowed_ip=10.127.{i >> 8}.{i & 255}/32\n");
            remove.Append(CultureInfo.InvariantCulture, $"public_key={hex}\nremove=true\n");
        }
        var victims = new StringBuilder();
        var victimIds = new HashSet<int>();
        for (int i = gen.Clients.Length - removedLive; i < gen.Clients.Length; i++)
        {
            SimClient c = gen.Clients[i];
            lock (c)
            {
                c.SessionId = default; // the keeper and later phases leave it alone
            }
            victimIds.Add(i);
            victims.Append(CultureInfo.InvariantCulture, $"public_key={Convert.ToHexStringLower(c.PublicKey)}\nremove=true\n");
        }

        var rtts = new List<double>();
        int lost = 0;
        using var stop = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            var local = new Random(99);
            while (!stop.IsSet)
            {
                SimClient c = gen.Clients[local.Next(gen.Clients.Length - removedLive)];
                lock (c)
                {
                    if (c.Pending != PendingOp.None || c.SessionId.IsNone)
                    {
                        continue;
                    }
                }
                gen.SendKeepalive(c, track: true);
                if (WaitIdle(c, 1000))
                {
                    lock (rtts)
                    {
                        rtts.Add(LoadGenerator.TicksToMs(c.DoneTicks - c.PendingSinceTicks));
                    }
                }
                else
                {
                    Interlocked.Increment(ref lost);
                    lock (c)
                    {
                        c.Pending = PendingOp.None;
                    }
                }
            }
        })
        { IsBackground = true, Name = "bench-churn-sampler" };
        sampler.Start();
        int e1, e2, e3;
        try
        {
            Thread.Sleep(200);
            var sw = Stopwatch.StartNew();
            e1 = UapiClient.Set(server.Name, add.ToString());
            r.PeersAdd1000Ms = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            e2 = UapiClient.Set(server.Name, remove.ToString());
            r.PeersRemove1000Ms = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            e3 = UapiClient.Set(server.Name, victims.ToString());
            r.PeersRemoveLiveMs = sw.Elapsed.TotalMilliseconds;
            Thread.Sleep(500); // the sweep ends the removed peers' sessions
        }
        finally
        {
            stop.Set();
            sampler.Join();
        }
        r.PeerChurnErrors = (e1 != 0 ? 1 : 0) + (e2 != 0 ? 1 : 0) + (e3 != 0 ? 1 : 0);
        r.PeerChurnKeepaliveP99Ms = Stats.Percentile(rtts, 99);
        r.PeerChurnKeepaliveLost = lost;
        r.PeerChurnKeepalives = rtts.Count;
        r.RemovedLiveSessions = removedLive;
        _log.WriteLine($"  control socket: +{Added} peers in {r.PeersAdd1000Ms:F0} ms, -{Added} in {r.PeersRemove1000Ms:F0} ms, -{removedLive} live in {r.PeersRemoveLiveMs:F0} ms " +
            $"(errno {e1}/{e2}/{e3}); other sessions meanwhile: {rtts.Count} keepalives, p99 {r.PeerChurnKeepaliveP99Ms:F2} ms, {lost} lost");
    }

    /// <summary>The server's CPU use with all sessions established and only the keeper's background traffic.</summary>
    private static double IdleCpuPct(BenchServer server, double seconds)
    {
        double before = server.CpuSeconds();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        return (server.CpuSeconds() - before) / seconds * 100;
    }
}
