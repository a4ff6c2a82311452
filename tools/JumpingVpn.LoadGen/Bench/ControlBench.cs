using System.Diagnostics;
using System.Globalization;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>Options of `jvpn-loadgen control` (see its --help and docs/scaling.md).</summary>
internal sealed record ControlBenchOptions
{
    public required IReadOnlyList<int> Sizes { get; init; }
    public int StormSize { get; init; } = 10_000;
    public int AbuseAt { get; init; } = 10_000;
    public double AbuseSeconds { get; init; } = 5;
    /// <summary>Packets per second the abuse floods offer; 0 = as fast as one thread can send.</summary>
    public double FloodPps { get; init; }
    public double SoakSeconds { get; init; } = 60;
    public int SoakAt { get; init; } = 10_000;
    public int Sockets { get; init; } = 64;
    public int Window { get; init; } = 128;
    public int Samples { get; init; } = 1000;
    public int Port { get; init; } = 51900;
    public required string WorkDirectory { get; init; }
    public string InterfacePrefix { get; init; } = "jvb";
    /// <summary>New clients measured during the keyless flood (<see cref="FloodHandshakes"/>); 0 skips the phase.</summary>
    public int FloodClients { get; init; } = 100;
    public int FloodClientSpacingMs { get; init; } = 20;
    public bool FloodCompareWireGuardGo { get; init; } = true;
    /// <summary>Rate of the keyless flood of <see cref="FloodHandshakes"/>, packets/s; null = <see cref="FloodPps"/>.</summary>
    public double? KeylessFloodPps { get; init; }
    /// <summary>Run only the keyless-flood handshake phase (no sizes, storm, abuse or soak).</summary>
    public bool FloodOnly { get; init; }
    /// <summary>Run only the abuse phases, once per <see cref="ReceiveThreads"/> count (no sizes, storm, soak or keyless flood).</summary>
    public bool AbuseOnly { get; init; }
    /// <summary>How many times --abuse-only repeats its round of receive-thread counts.</summary>
    public int AbuseRepeats { get; init; } = 1;
    /// <summary>`ReceiveThreads` of the servers: one count for the whole suite, or several for --abuse-only; empty = the server's default.</summary>
    public IReadOnlyList<int> ReceiveThreads { get; init; } = [];
}

/// <summary>
/// The control-plane load generator (docs/design.md §9): for each size N a fresh `jvpn up` server with
/// N peers, N simulated clients doing real handshakes + HELLO, then lookup/reattach latency samples, a
/// reattach storm with racing duplicates, abuse floods while a session pings through the tunnel, and a
/// churn soak. Every figure is measured from the wire, the server's /proc entry, its control socket or
/// its audit stream.
/// </summary>
internal sealed partial class ControlBench
{
    private readonly ControlBenchOptions _o;
    private readonly TextWriter _log;

    public ControlBench(ControlBenchOptions options, TextWriter log)
    {
        _o = options;
        _log = log;
    }

    public BenchReport Run()
    {
        var report = new BenchReport();
        if (_o.AbuseOnly)
        {
            AbuseScaling(report);
            return report;
        }
        if (!_o.FloodOnly)
        {
            int run = 0;
            foreach (int n in _o.Sizes)
            {
                report.Sizes.Add(RunSize(n, run++, report));
            }
            report.InProcessReject = InProcessReject.Measure(TimeSpan.FromSeconds(1), Math.Min(20_000, _o.Sizes.Max()));
            _log.WriteLine($"== in process: unknown-index rejection {report.InProcessReject.PacketsPerSecondPerCore:F0} packets/s on one core against {report.InProcessReject.TableSize} indices, {report.InProcessReject.AllocatedBytes} B allocated");
        }
        if (_o.FloodClients > 0)
        {
            report.FloodHandshakes.AddRange(new FloodHandshakes(_o, _log).Run());
        }
        return report;
    }

    private SizeResult RunSize(int n, int runIndex, BenchReport report)
    {
        _log.WriteLine($"== {n} sessions");
        _captured.Clear(); // captured datagrams belong to one server's keys
        var r = new SizeResult { Requested = n };
        byte[] serverPrivate = new byte[32];
        X25519.GeneratePrivateKey(serverPrivate);
        byte[] serverPublic = new byte[32];
        X25519.DerivePublicKey(serverPrivate, serverPublic);
        var sw = Stopwatch.StartNew();
        var clients = new SimClient[n];
        Parallel.For(0, n, i =>
        {
            byte[] priv = new byte[32];
            X25519.GeneratePrivateKey(priv);
            clients[i] = new SimClient(i, priv, serverPublic, BenchServer.ClientInner(i));
        });
        _log.WriteLine($"  {n} client keys in {sw.Elapsed.TotalSeconds:F1} s");
        var policy = new Dictionary<string, string>
        {
            // Simulated clients keep each session alive with one KEEPALIVE per KeepalivePeriod instead of
            // real clients' 500 ms heartbeat (100k x 2/s would measure the loopback, not the control plane).
            ["transport_dead"] = "90s",
            ["max_sessions"] = (n + 1000).ToString(CultureInfo.InvariantCulture),
        };
        if (_o.ReceiveThreads.Count > 0)
        {
            policy["ReceiveThreads"] = _o.ReceiveThreads[0].ToString(CultureInfo.InvariantCulture);
        }
        string name = $"{_o.InterfacePrefix}{runIndex}";
        using BenchServer server = BenchServer.Start(name, _o.Port + runIndex, serverPrivate, clients, _o.WorkDirectory, policy, _log);
        r.PeersLoadSeconds = server.LoadSeconds;
        Thread.Sleep(1000);
        r.RssReadyBytes = server.RssBytes();
        using var gen = new LoadGenerator(clients, server.Endpoint, _o.Sockets);
        for (int i = 0; i < n; i++)
        {
            clients[i].Socket = i % gen.SocketCount;
        }
        // 12 s: under WireGuard's 15 s "sent data, no reply" limit (KEEPALIVE_ACK is data), so the server
        // never starts handshakes of its own towards idle simulated clients (which do not answer them).
        // Started before establishment: at 100k the first sessions are 80 s old when the last one is acked.
        using var keeper = new SessionKeeper(gen, TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(150));
        double cpu0 = server.CpuSeconds();
        sw.Restart();
        // Two steps, so the memory figure is the slope between two populated states (N/10 and N
        // sessions): constant costs (JIT, GC budgets, thread stacks) cancel out of it.
        int firstStep = Math.Max(1, n / 10);
        Establish(gen, clients.AsSpan(0, firstStep).ToArray(), r);
        double firstSeconds = sw.Elapsed.TotalSeconds;
        Thread.Sleep(2000);
        r.RssFirstStepBytes = server.RssBytes();
        r.FirstStepSessions = (int)gen.HelloAcks;
        sw.Restart();
        Establish(gen, clients.AsSpan(firstStep).ToArray(), r);
        r.EstablishSeconds = firstSeconds + sw.Elapsed.TotalSeconds;
        r.Sessions = (int)gen.HelloAcks;
        r.HandshakesPerSecond = r.Sessions / Math.Max(r.EstablishSeconds, 1e-9);
        r.ServerCpuSecondsPerThousandHandshakes = (server.CpuSeconds() - cpu0) * 1000 / Math.Max(r.Sessions, 1);
        Dictionary<string, long> hs = server.Stats();
        _log.WriteLine($"  {r.Sessions}/{n} sessions acked in {r.EstablishSeconds:F1} s ({r.HandshakesPerSecond:F0} handshake+HELLO/s; refused {gen.Refused}); " +
            $"server: cookies {hs.GetValueOrDefault("cookie_replies_sent")}, admission-limited {hs.GetValueOrDefault("handshakes_admission_source_limited")}/{hs.GetValueOrDefault("handshakes_admission_global_limited")} (source/global), " +
            $"queue-full {hs.GetValueOrDefault("handshakes_queue_full")}, dh-budget trips {hs.GetValueOrDefault("handshake_work_budget_trips")}");
        Thread.Sleep(3000);
        r.RssSessionsBytes = server.RssBytes();
        r.RssBytesPerSessionAverage = r.Sessions == 0 ? 0 : (double)(r.RssSessionsBytes - r.RssReadyBytes) / r.Sessions;
        r.RssBytesPerSession = r.Sessions > r.FirstStepSessions
            ? (double)(r.RssSessionsBytes - r.RssFirstStepBytes) / (r.Sessions - r.FirstStepSessions)
            : r.RssBytesPerSessionAverage;
        _log.WriteLine($"  RSS: {r.RssReadyBytes / 1048576.0:F1} MiB with peers loaded, {r.RssFirstStepBytes / 1048576.0:F1} MiB at {r.FirstStepSessions} sessions, " +
            $"{r.RssSessionsBytes / 1048576.0:F1} MiB at {r.Sessions}: {r.RssBytesPerSession:F0} B/session marginal, {r.RssBytesPerSessionAverage:F0} B/session average");

        var rng = new Random(12345 + n);
        var used = new HashSet<int>();
        (r.LookupP50Ms, r.LookupP99Ms) = SampleKeepalives(gen, rng, Math.Min(_o.Samples, r.Sessions));
        (r.ReattachP50Ms, r.ReattachP99Ms, r.ReattachRejected) = SampleReattaches(gen, rng, Math.Min(_o.Samples, r.Sessions / 2), used);
        _log.WriteLine($"  keepalive RTT p50 {r.LookupP50Ms:F3} ms p99 {r.LookupP99Ms:F3} ms; reattach RTT p50 {r.ReattachP50Ms:F3} ms p99 {r.ReattachP99Ms:F3} ms ({r.ReattachRejected} rejected)");

        Thread.Sleep(2000); // past the 1.5 s switch cooldown of the sessions sampled above
        Storm(gen, server, rng, Math.Min(_o.StormSize, r.Sessions), r);

        r.IdleServerCpuPct = IdleCpuPct(server, 5);
        _log.WriteLine($"  server CPU with {r.Sessions} sessions and keepalive traffic only: {r.IdleServerCpuPct:F1}%");
        PeerChurn(gen, server, rng, r);

        if (n == _o.AbuseAt || (_o.Sizes.Count == 1))
        {
            report.Abuse = Abuse(gen, server, clients, rng);
        }
        if (n == _o.SoakAt || (_o.Sizes.Count == 1))
        {
            report.Soak = Soak(gen, server, rng, keeper);
        }
        keeper.Dispose();
        Thread.Sleep(1500); // the audit pipeline drains asynchronously
        AuditCheck.Result audit = AuditCheck.Read(server.AuditPath);
        r.AuditSessions = audit.Sessions;
        r.VersionGaps = audit.SessionsWithVersionGaps;
        r.AuditGaps = audit.AuditGapLines;
        r.StateChanges = audit.StateChanges;
        r.OperatorTerminated = audit.OperatorTerminated;
        r.AllocatedBytesInPacketLoops = server.Stats().GetValueOrDefault("allocated_bytes_in_packet_loops");
        _log.WriteLine($"  audit: {audit.Lines} lines, {audit.Sessions} sessions, {audit.StateChanges} STATE_CHANGE, {r.VersionGaps} sessions with version gaps, {r.AuditGaps} AUDIT_GAP");
        return r;
    }

    /// <summary>Handshake + HELLO for every client with at most <see cref="ControlBenchOptions.Window"/> in flight.</summary>
    private void Establish(LoadGenerator gen, SimClient[] clients, SizeResult r)
    {
        int next = 0;
        int[] slots = new int[Math.Min(_o.Window, clients.Length)];
        Array.Fill(slots, -1);
        int active = 0;
        long timeout = Stopwatch.Frequency; // 1 s, then retry (new initiation, as WireGuard's retransmit does)
        var deadline = Stopwatch.StartNew();
        int retries = 0;
        while ((next < clients.Length || active > 0) && deadline.Elapsed < TimeSpan.FromMinutes(8))
        {
            long now = LoadGenerator.NowTicks();
            for (int s = 0; s < slots.Length; s++)
            {
                if (slots[s] >= 0)
                {
                    SimClient c = clients[slots[s]];
                    PendingOp p;
                    long since;
                    lock (c)
                    {
                        p = c.Pending;
                        since = c.PendingSinceTicks;
                    }
                    if (p == PendingOp.None)
                    {
                        slots[s] = -1;
                        active--;
                    }
                    else if (now - since > timeout)
                    {
                        retries++;
                        gen.StartHandshake(c);
                        continue;
                    }
                    else
                    {
                        continue;
                    }
                }
                if (next < clients.Length)
                {
                    slots[s] = next;
                    active++;
                    gen.StartHandshake(clients[next++]);
                }
            }
            Thread.Sleep(1);
        }
        r.EstablishRetries += retries;
    }

    private static (double P50, double P99) SampleKeepalives(LoadGenerator gen, Random rng, int count)
    {
        var rtts = new List<double>(count);
        for (int i = 0; i < count; i++)
        {
            SimClient c = gen.Clients[rng.Next(gen.Clients.Length)];
            if (c.SessionId.IsNone || c.Pending != PendingOp.None)
            {
                continue;
            }
            gen.SendKeepalive(c, track: true);
            if (WaitIdle(c, 1000))
            {
                rtts.Add(LoadGenerator.TicksToMs(c.DoneTicks - c.PendingSinceTicks));
            }
        }
        return (Stats.Percentile(rtts, 50), Stats.Percentile(rtts, 99));
    }

    private static (double P50, double P99, int Rejected) SampleReattaches(LoadGenerator gen, Random rng, int count, HashSet<int> used)
    {
        var rtts = new List<double>(count);
        int rejected = 0;
        for (int i = 0; i < count; i++)
        {
            SimClient c = gen.Clients[rng.Next(gen.Clients.Length)];
            if (c.SessionId.IsNone || c.Pending != PendingOp.None || !used.Add(c.Id))
            {
                continue;
            }
            int rejectsBefore = c.Rejects;
            gen.SendReattach(c, (c.Socket + 1 + rng.Next(gen.SocketCount - 1)) % gen.SocketCount, -1);
            if (WaitIdle(c, 1000))
            {
                rtts.Add(LoadGenerator.TicksToMs(c.DoneTicks - c.FirstSentTicks));
            }
            else if (c.Rejects > rejectsBefore)
            {
                rejected++;
            }
            lock (c)
            {
                c.Pending = PendingOp.None;
            }
        }
        return (Stats.Percentile(rtts, 50), Stats.Percentile(rtts, 99), rejected);
    }

    private static bool WaitIdle(SimClient c, int timeoutMs)
    {
        var sw = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (sw.ElapsedMilliseconds < timeoutMs)
        {
            lock (c)
            {
                if (c.Pending == PendingOp.None)
                {
                    return true;
                }
            }
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return false;
    }
}
