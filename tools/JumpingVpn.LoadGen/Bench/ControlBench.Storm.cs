using System.Diagnostics;
using System.Net;
using JumpingVpn.Control.Uapi;

namespace JumpingVpn.LoadGen.Bench;

internal sealed partial class ControlBench
{
    /// <summary>
    /// Reattach storm: <paramref name="count"/> sessions all move to a new NAT mapping at once;
    /// every 10th sends a second, racing REATTACH from yet another mapping. Unanswered requests are retried
    /// after 1 s (fresh ctrl_seq, like the client). Afterwards the server's bindings (control socket) are
    /// compared with the winners the clients were told: any session with two ACKs for one version, or
    /// bound anywhere but its ACKed address, is a dual binding.
    /// </summary>
    private void Storm(LoadGenerator gen, BenchServer server, Random rng, int count, SizeResult r)
    {
        var storm = new List<SimClient>(count);
        foreach (SimClient c in gen.Clients)
        {
            if (storm.Count == count)
            {
                break;
            }
            lock (c)
            {
                if (c.SessionId.IsNone || c.Pending != PendingOp.None)
                {
                    continue;
                }
                c.Pending = PendingOp.Reattach; // reserve: the keeper leaves it alone from now on
                c.Acks = 0;
                c.Rejects = 0;
                c.LastAckVersion = 0;
                c.DualAck = false;
            }
            storm.Add(c);
        }
        r.StormSessions = storm.Count;
        long doneBefore = gen.ReattachesDone;
        long t0 = LoadGenerator.NowTicks();
        for (int i = 0; i < storm.Count; i++)
        {
            SimClient c = storm[i];
            int to = (c.Socket + 1 + rng.Next(gen.SocketCount - 1)) % gen.SocketCount;
            int racing = i % 10 == 0 ? (to + 1 + rng.Next(gen.SocketCount - 2)) % gen.SocketCount : -1;
            if (racing == c.Socket)
            {
                racing = (racing + 1) % gen.SocketCount;
            }
            byte[] sent = gen.SendReattach(c, to, racing == to ? -1 : racing);
            if (_captured.Count < 256)
            {
                _captured.Add((c, sent));
            }
        }
        r.StormSendMs = LoadGenerator.TicksToMs(LoadGenerator.NowTicks() - t0);
        var sw = Stopwatch.StartNew();
        int retries = 0;
        while (gen.ReattachesDone - doneBefore < storm.Count && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(20);
            long now = LoadGenerator.NowTicks();
            foreach (SimClient c in storm)
            {
                bool resend;
                int socket;
                lock (c)
                {
                    resend = c.Pending == PendingOp.Reattach && LoadGenerator.TicksToMs(now - c.PendingSinceTicks) > 1000;
                    socket = c.PendingSocket;
                }
                if (resend)
                {
                    retries++;
                    gen.SendReattach(c, socket, -1, retry: true);
                }
            }
        }
        var latencies = new List<double>(storm.Count);
        long last = t0;
        int acked = 0;
        foreach (SimClient c in storm)
        {
            lock (c)
            {
                if (c.Pending == PendingOp.None && c.DoneTicks > t0)
                {
                    acked++;
                    latencies.Add(LoadGenerator.TicksToMs(c.DoneTicks - c.FirstSentTicks));
                    last = Math.Max(last, c.DoneTicks);
                }
                else
                {
                    c.Pending = PendingOp.None;
                }
            }
        }
        r.StormAcked = acked;
        r.StormRetries = retries;
        r.StormAllAckedMs = acked == storm.Count ? LoadGenerator.TicksToMs(last - t0) : double.NaN;
        r.StormP50Ms = Stats.Percentile(latencies, 50);
        r.StormP99Ms = Stats.Percentile(latencies, 99);
        Thread.Sleep(300);
        r.DualBindings = CountDualBindings(gen, server, storm);
        _log.WriteLine($"  storm: {storm.Count} sessions ({storm.Count / 10} with a racing duplicate) sent in {r.StormSendMs:F0} ms; " +
            $"{acked} acked, all within {r.StormAllAckedMs:F0} ms; p50 {r.StormP50Ms:F1} ms p99 {r.StormP99Ms:F1} ms; {retries} retries; {r.DualBindings} dual bindings");
    }

    private static int CountDualBindings(LoadGenerator gen, BenchServer server, List<SimClient> storm)
    {
        UapiDeviceSnapshot snap = UapiClient.GetSnapshot(server.Name);
        var endpoints = new Dictionary<string, IPEndPoint?>(snap.Peers.Count, StringComparer.Ordinal);
        foreach (UapiPeerSnapshot p in snap.Peers)
        {
            endpoints[Convert.ToBase64String(p.PublicKey)] = p.Endpoint;
        }
        int dual = 0;
        foreach (SimClient c in storm)
        {
            IPEndPoint expected = gen.SocketEndPoint(c.Socket);
            endpoints.TryGetValue(Convert.ToBase64String(c.PublicKey), out IPEndPoint? bound);
            bool sameBinding = bound is not null && bound.Port == expected.Port
                && (bound.Address.IsIPv4MappedToIPv6 ? bound.Address.MapToIPv4() : bound.Address).Equals(expected.Address);
            // An acked session must be bound exactly where its winning ACK said; two ACKs naming one
            // version means two requests both won.
            bool acked = c.Pending == PendingOp.None && c.Acks > 0;
            if (c.DualAck || (acked && !sameBinding))
            {
                dual++;
            }
        }
        return dual;
    }
}
