using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.LoadGen.Bench;

internal sealed partial class ControlBench
{
    /// <summary>REATTACH datagrams sent during the storm, replayed byte for byte in the abuse phase.</summary>
    private readonly List<(SimClient Client, byte[] Datagram)> _captured = [];

    /// <summary>
    /// Abuse phases, each <see cref="ControlBenchOptions.AbuseSeconds"/> long while one
    /// established session pings the server's inner address through the tunnel every 10 ms: idle
    /// baseline, transport packets with unknown receiver indices, forged transport packets (valid index,
    /// garbage ciphertext), replayed REATTACH datagrams, and a handshake-initiation flood with valid mac1
    /// from unknown keys over 64 source addresses. The server's own counters say how much it rejected.
    /// </summary>
    /// <param name="observe">Called after each phase with the phase and the server's counters before and after it.</param>
    private AbuseResult Abuse(LoadGenerator gen, BenchServer server, SimClient[] clients, Random rng,
        Action<AbusePhase, Dictionary<string, long>, Dictionary<string, long>>? observe = null)
    {
        var result = new AbuseResult();
        SimClient victim = clients.First(c => !c.SessionId.IsNone);
        var pinger = new TunnelPinger(gen, victim, BenchServer.ServerInner, 100_000);
        gen.Ping = pinger;
        IPEndPoint target = server.Endpoint;
        var sockets = new Socket[64];
        for (int i = 0; i < sockets.Length; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sockets[i].Bind(new IPEndPoint(new IPAddress(new byte[] { 127, 0, 200, (byte)(1 + i) }), 0));
        }
        try
        {
            var unknown = new byte[64][];
            for (int i = 0; i < unknown.Length; i++)
            {
                unknown[i] = new byte[MessageLayout.TransportMinSize + 64];
                unknown[i][0] = MessageLayout.TypeTransport;
                // Receiver indices the server never handed out (its indices are random; collisions are 2^-32 each).
                BinaryPrimitives.WriteUInt32LittleEndian(unknown[i].AsSpan(4), (uint)rng.Next() ^ 0x5a5a0000u);
                BinaryPrimitives.WriteUInt64LittleEndian(unknown[i].AsSpan(8), (ulong)i);
            }
            var forged = new byte[64][];
            for (int i = 0; i < forged.Length; i++)
            {
                SimClient c = clients[rng.Next(clients.Length)];
                forged[i] = new byte[MessageLayout.TransportMinSize + 64];
                rng.NextBytes(forged[i]);
                forged[i][0] = MessageLayout.TypeTransport;
                forged[i][1] = forged[i][2] = forged[i][3] = 0;
                BinaryPrimitives.WriteUInt32LittleEndian(forged[i].AsSpan(4), c.Keypair?.RemoteIndex ?? 0);
            }
            byte[][] initiations = BuildForeignInitiations(server, 256);

            result.Phases.Add(Phase("idle", null, null, pinger, server, observe));
            result.Phases.Add(Phase("unknown_index", unknown, sockets, pinger, server, observe));
            result.Phases.Add(Phase("forged_frames", forged, sockets, pinger, server, observe));
            if (_captured.Count > 0)
            {
                // Only with REATTACH datagrams of this server's storm to replay (not in --abuse-only runs).
                result.Phases.Add(Phase("replayed_reattach", _captured.Select(x => x.Datagram).ToArray(), sockets, pinger, server, observe));
            }
            result.Phases.Add(Phase("handshake_flood", initiations, sockets, pinger, server, observe));
            result.ReplayStateChanges = CheckReplayedSessionsUnchanged(gen);
        }
        finally
        {
            gen.Ping = null;
            foreach (Socket s in sockets)
            {
                s.Dispose();
            }
        }
        AbusePhase idle = result.Phases[0];
        foreach (AbusePhase p in result.Phases.Skip(1))
        {
            result.PingLossPctMax = Math.Max(result.PingLossPctMax, p.PingLossPct);
            result.RttRatioMax = Math.Max(result.RttRatioMax, p.PingP50Ms / idle.PingP50Ms);
            result.RttP99RatioMax = Math.Max(result.RttP99RatioMax, p.PingP99Ms / idle.PingP99Ms);
        }
        return result;
    }

    private AbusePhase Phase(string name, byte[][]? packets, Socket[]? sockets, TunnelPinger pinger, BenchServer server,
        Action<AbusePhase, Dictionary<string, long>, Dictionary<string, long>>? observe)
    {
        Dictionary<string, long> before = server.Stats();
        double cpuBefore = server.CpuSeconds();
        pinger.Reset();
        var stop = new ManualResetEventSlim();
        long sent = 0;
        Thread? flooder = null;
        if (packets is not null && sockets is not null)
        {
            SocketAddress to = server.Endpoint.Serialize();
            double pps = _o.FloodPps;
            flooder = new Thread(() =>
            {
                long k = 0;
                var clock = Stopwatch.StartNew();
                while (!stop.IsSet)
                {
                    if (pps > 0 && k > pps * clock.Elapsed.TotalSeconds)
                    {
                        Thread.Sleep(1); // ahead of the offered rate
                        continue;
                    }
                    for (int burst = 0; burst < 256; burst++, k++)
                    {
                        try
                        {
                            sockets[(int)(k % sockets.Length)].SendTo(packets[(int)(k % packets.Length)], SocketFlags.None, to);
                        }
                        catch (SocketException)
                        {
                            // ENOBUFS under flood: the packet is simply not sent
                        }
                    }
                }
                Interlocked.Exchange(ref sent, k);
            })
            { IsBackground = true, Name = "bench-flood" };
        }
        var sw = Stopwatch.StartNew();
        flooder?.Start();
        long nextPing = 0;
        while (sw.Elapsed.TotalSeconds < _o.AbuseSeconds)
        {
            if (sw.ElapsedMilliseconds >= nextPing)
            {
                pinger.SendOne();
                nextPing += 10;
            }
            Thread.Sleep(1);
        }
        stop.Set();
        flooder?.Join();
        double seconds = sw.Elapsed.TotalSeconds;
        Thread.Sleep(300); // late replies of the last pings
        Dictionary<string, long> after = server.Stats();
        long Delta(string key) => after.GetValueOrDefault(key) - before.GetValueOrDefault(key);
        (double loss, double p50, double p99, int pings) = pinger.Summary();
        var phase = new AbusePhase
        {
            Name = name,
            Seconds = seconds,
            SentPps = Interlocked.Read(ref sent) / seconds,
            UnknownIndexRejectedPps = Delta("drop_unknown_index") / seconds,
            BadMacRejectedPps = Delta("drop_bad_mac") / seconds,
            ReplayRejectedPps = Delta("drop_replay") / seconds,
            HandshakesInvalidPps = Delta("handshakes_invalid") / seconds,
            CookieRepliesPps = Delta("cookie_replies_sent") / seconds,
            AdmissionLimitedPps = (Delta("handshakes_admission_source_limited") + Delta("handshakes_admission_global_limited")) / seconds,
            HandshakeQueueFullPps = Delta("handshakes_queue_full") / seconds,
            ServerCpuPct = (server.CpuSeconds() - cpuBefore) / seconds * 100,
            Pings = pings,
            PingLossPct = loss,
            PingP50Ms = p50,
            PingP99Ms = p99,
            AllocatedBytesInPacketLoopsDelta = Delta("allocated_bytes_in_packet_loops"),
        };
        _log.WriteLine($"  abuse {name,-18} sent {phase.SentPps,10:F0} pps; server rejected: unknown {phase.UnknownIndexRejectedPps:F0}/s bad-mac {phase.BadMacRejectedPps:F0}/s " +
            $"replay {phase.ReplayRejectedPps:F0}/s hs-invalid {phase.HandshakesInvalidPps:F0}/s cookies {phase.CookieRepliesPps:F0}/s admission {phase.AdmissionLimitedPps:F0}/s queue-full {phase.HandshakeQueueFullPps:F0}/s; cpu {phase.ServerCpuPct:F0}%; " +
            $"ping loss {loss:F2}% p50 {p50:F3} ms p99 {p99:F3} ms; loop alloc +{phase.AllocatedBytesInPacketLoopsDelta} B");
        observe?.Invoke(phase, before, after);
        return phase;
    }

    /// <summary>Initiations with a valid mac1 (the attacker knows the server's public key) from keys the server does not know.</summary>
    private static byte[][] BuildForeignInitiations(BenchServer server, int count)
    {
        byte[] serverPublic = server.PublicKey;
        var result = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            byte[] priv = new byte[32];
            JumpingVpn.Tunnel.Crypto.X25519.GeneratePrivateKey(priv);
            var stranger = new SimClient(1_000_000 + i, priv, serverPublic, 0);
            result[i] = new byte[MessageLayout.InitiationSize];
            stranger.WriteInitiation(result[i], 0, (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
        }
        return result;
    }

    /// <summary>After the replay flood, each replayed session's version must be what its client last acked.</summary>
    private int CheckReplayedSessionsUnchanged(LoadGenerator gen)
    {
        int changed = 0;
        foreach (SimClient c in _captured.Select(x => x.Client).Distinct().Take(64))
        {
            lock (c)
            {
                if (c.Pending != PendingOp.None)
                {
                    continue;
                }
            }
            gen.SendKeepalive(c, track: true);
            if (WaitIdle(c, 1000))
            {
                lock (c)
                {
                    if (c.LastAckVersion != c.AckedVersion)
                    {
                        changed++;
                    }
                }
            }
        }
        return changed;
    }
}
