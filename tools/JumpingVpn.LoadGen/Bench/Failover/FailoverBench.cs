using System.Diagnostics;
using System.Globalization;
using System.Net;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>A cluster node as the generator sees it: its id, its interface (control socket) and its UDP endpoint.</summary>
internal sealed record FailoverNode(string Id, string Interface, IPEndPoint Endpoint);

/// <summary>Options of `jvpn-loadgen failover` (its --help, docs/cluster.md "Benchmark").</summary>
internal sealed record FailoverBenchOptions
{
    public required int Sessions { get; init; }
    public required string Store { get; init; }
    /// <summary>The nodes; the first owns every session and is killed.</summary>
    public required IReadOnlyList<FailoverNode> Nodes { get; init; }
    public required int OwnerPid { get; init; }
    /// <summary>Drain node 1 (SIGTERM: it moves its clients with SESSION_MOVE, docs/cluster.md "Drain") instead of killing it.</summary>
    public bool Drain { get; init; }
    /// <summary>The clients' source addresses (one socket at least per address; bench/cluster-failover.sh --sources).</summary>
    public required IReadOnlyList<IPAddress> Sources { get; init; }
    public required string WorkDirectory { get; init; }
    public long HeartbeatMs { get; init; }
    public double SteadySeconds { get; init; } = 10;
    public double BoundSeconds { get; init; } = 60;
    public double SettleSeconds { get; init; } = 2;
    /// <summary>How long attaching may take: 60 s plus 10 ms per session (control-scale measured ~1300 handshakes/s).</summary>
    public double EstablishBoundSeconds => 60 + (Sessions / 100.0);
    public string? StoreStatusCommand { get; init; }
    public string? StoreOpsCommand { get; init; }
    public IReadOnlyList<(string Name, int Pid)> CpuPids { get; init; } = [];
    public int Sockets { get; init; } = 16;
    /// <summary>Client i lists the survivors starting at survivor i mod (nodes - 1), so both take over; else all list them in one order.</summary>
    public bool Spread { get; init; } = true;

    /// <summary>
    /// The heartbeat when none is given: 100 ms (about a ping's cadence) while N x 10/s stays within 20k
    /// KEEPALIVEs/s, slower beyond, never slower than the real client's 500 ms active heartbeat.
    /// </summary>
    public static long DefaultHeartbeatMs(int sessions) => Math.Clamp(sessions / 20, 100, FailoverSemantics.RealClientHeartbeatMs);
}

/// <summary>
/// The kill-the-owner scenario (docs/cluster.md "Benchmark"): N simulated clients attach to node 1, keep a
/// heartbeat, and once all are steady node 1 is killed with SIGKILL; each client judges it silent, moves to
/// its next node and resumes. Measured per session from the wire (<see cref="SessionTrace"/>), then checked
/// against the store (`jvpn cluster status --json`), the live nodes' own session tables (control socket) and
/// every node's audit log. The store's request counter comes from a command the caller names (the script
/// reads Redis `INFO commandstats` or etcd's /metrics), sampled around a steady window and the takeover.
/// </summary>
internal sealed class FailoverBench
{
    private readonly FailoverBenchOptions _o;
    private readonly TextWriter _log;

    public FailoverBench(FailoverBenchOptions options, TextWriter log)
    {
        _o = options;
        _log = log;
    }

    /// <summary>Client <paramref name="i"/>'s node order: node 0 first, then the survivors.</summary>
    public static int[] Order(int i, int nodes, bool spread)
    {
        int[] order = new int[nodes];
        for (int k = 1; k < nodes; k++)
        {
            order[k] = 1 + ((spread ? i + k - 1 : k - 1) % (nodes - 1));
        }
        return order;
    }

    public FailoverResult Run()
    {
        int n = _o.Sessions;
        long heartbeat = _o.HeartbeatMs > 0 ? _o.HeartbeatMs : FailoverBenchOptions.DefaultHeartbeatMs(n);
        var r = new FailoverResult { Store = _o.Store, Sessions = n, HeartbeatMs = heartbeat };
        SimClient[] sims = FailoverKeys.Read(_o.WorkDirectory, n);
        var clients = new FailoverClient[n];
        for (int i = 0; i < n; i++)
        {
            clients[i] = new FailoverClient(Order(i, _o.Nodes.Count, _o.Spread), heartbeat);
        }
        using var driver = new FailoverDriver(sims, clients, [.. _o.Nodes.Select(x => x.Endpoint)], _o.Sources, Math.Min(_o.Sockets, n), heartbeat);
        var sw = Stopwatch.StartNew();
        driver.Start();
        _log.WriteLine($"== {n} clients attach to {_o.Nodes[0].Id} (heartbeat {heartbeat} ms, {FailoverDriver.Window} handshakes in flight)");
        double lastLog = 0;
        while (driver.Attached < n && sw.Elapsed.TotalSeconds < _o.EstablishBoundSeconds)
        {
            Thread.Sleep(50);
            if (sw.Elapsed.TotalSeconds - lastLog >= 5)
            {
                lastLog = sw.Elapsed.TotalSeconds;
                _log.WriteLine($"  {driver.Attached}/{n} attached after {lastLog:F0} s");
            }
        }
        r.EstablishSeconds = sw.Elapsed.TotalSeconds;
        r.Attached = driver.Attached;
        r.Sources = _o.Sources.Count;
        r.Sockets = driver.SocketCount;
        _log.WriteLine($"  {r.Attached}/{n} attached in {r.EstablishSeconds:F1} s ({r.Attached / Math.Max(r.EstablishSeconds, 1e-9):F0} handshake+HELLO/s)");
        if (r.Attached == 0)
        {
            throw new IOException($"no session attached to {_o.Nodes[0].Id} within {_o.EstablishBoundSeconds:F0} s; see the node logs in {_o.WorkDirectory}");
        }
        if (r.Attached < n)
        {
            // Reported, not hidden: the run goes on with the sessions that exist (the row's `attached`).
            _log.WriteLine($"  WARNING: only {r.Attached} of {n} sessions attached within {_o.EstablishBoundSeconds:F0} s; the others take no part");
            foreach (FailoverClient c in clients)
            {
                lock (c)
                {
                    if (c.SessionId.IsNone)
                    {
                        c.Abandon();
                    }
                }
            }
        }
        // A few heartbeats answered by every session before the steady window starts.
        Thread.Sleep((int)Math.Max(2000, 3 * heartbeat));

        long? ops0 = StoreOps();
        var steady = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(_o.SteadySeconds));
        long? ops1 = StoreOps();
        double steadySeconds = steady.Elapsed.TotalSeconds;
        if (ops0 is long a && ops1 is long b)
        {
            r.SteadyStoreOpsPerSecond = (b - a) / steadySeconds;
            r.SteadyStoreOpsPerSecondPerSession = r.SteadyStoreOpsPerSecond / r.Attached;
            _log.WriteLine($"  steady {steadySeconds:F1} s: {b - a} store ops = {r.SteadyStoreOpsPerSecond:F1}/s, {r.SteadyStoreOpsPerSecondPerSession:F4}/s per session");
        }

        Dictionary<string, double> cpu0 = CpuSeconds();
        long killMs = FailoverDriver.NowMs();
        var part = new bool[n];
        int participants = 0;
        for (int i = 0; i < n; i++)
        {
            FailoverClient c = clients[i];
            lock (c)
            {
                part[i] = !c.SessionId.IsNone;
                if (part[i])
                {
                    c.OnKill(killMs, 0);
                    participants++;
                }
            }
        }
        if (_o.Drain)
        {
            // SIGTERM: the node drains (releases, SESSION_MOVE to each client), then exits.
            string kill = JumpingVpn.Platform.ExternalCommand.FindOnPath("kill") ?? "/bin/kill";
            JumpingVpn.Platform.ExternalCommand.Run(kill, ["-TERM", _o.OwnerPid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            _log.WriteLine($"== drained {_o.Nodes[0].Id} (pid {_o.OwnerPid}) with SIGTERM; waiting up to {_o.BoundSeconds:F0} s for every session to resume");
        }
        else
        {
            using (Process owner = Process.GetProcessById(_o.OwnerPid))
            {
                owner.Kill(); // SIGKILL: no release, no goodbye
            }
            _log.WriteLine($"== killed {_o.Nodes[0].Id} (pid {_o.OwnerPid}) with SIGKILL; waiting up to {_o.BoundSeconds:F0} s for every session to resume");
        }
        long endMs = killMs;
        lastLog = 0;
        while (true)
        {
            Thread.Sleep(20);
            long now = FailoverDriver.NowMs();
            int resumed = 0, lost = 0;
            foreach (FailoverClient c in clients)
            {
                lock (c)
                {
                    resumed += c.Trace.Resumed ? 1 : 0;
                    lost += c.Trace.Lost ? 1 : 0;
                }
            }
            if (resumed + lost >= participants || now - killMs > _o.BoundSeconds * 1000)
            {
                endMs = now;
                break;
            }
            if ((now - killMs) / 1000.0 - lastLog >= 1)
            {
                lastLog = (now - killMs) / 1000.0;
                _log.WriteLine($"  +{lastLog:F0} s: {resumed}/{participants} resumed, {lost} lost, {driver.HandshakeResponses} handshakes so far");
            }
        }
        long? ops2 = StoreOps();
        Dictionary<string, double> cpu1 = CpuSeconds();

        // Settle, then read the owners from every side while the clients keep their heartbeat. A session
        // counts as settled when its client is attached and its node answered within the last second.
        Thread.Sleep(TimeSpan.FromSeconds(_o.SettleSeconds));
        long readAt = FailoverDriver.NowMs();
        var settled = new bool[n];
        for (int i = 0; i < n; i++)
        {
            lock (clients[i])
            {
                settled[i] = clients[i].IsAttached && clients[i].Trace.LastAnswerMs >= readAt - FailoverSemantics.SilentNodeMs;
            }
        }
        var claims = new List<IReadOnlySet<string>?> { null };
        for (int i = 1; i < _o.Nodes.Count; i++)
        {
            claims.Add(NodeSessions(_o.Nodes[i]));
        }
        Dictionary<string, StoreSession>? store = ReadStore();
        driver.Dispose();

        var traces = new List<SessionTrace>(participants);
        var settledParts = new List<bool>(participants);
        var unresumed = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            if (part[i])
            {
                traces.Add(clients[i].Trace);
                settledParts.Add(settled[i]);
                if (!clients[i].Trace.Resumed && !clients[i].Trace.Lost)
                {
                    string what = clients[i].State + (clients[i].Trace.LastRefusal != ReasonCode.None ? " after " + WireNames.Of(clients[i].Trace.LastRefusal) : "");
                    unresumed[what] = unresumed.GetValueOrDefault(what) + 1;
                }
            }
        }
        r.Unresumed = unresumed;
        Summarise(r, traces, killMs, endMs, driver, ops1, ops2, cpu0, cpu1);
        if (store is not null)
        {
            OwnershipCheck.Result check = OwnershipCheck.Check(traces, [.. _o.Nodes.Select(x => x.Id)], store, claims, settledParts);
            r.DualOwners = check.DualOwners;
            r.DualClaimedByTwo = check.ClaimedByTwo;
            r.Unsettled = check.Unsettled;
            r.VersionGaps = check.VersionGaps;
            r.MissingFromStore = check.MissingFromStore;
            r.SessionsPerNode = check.SessionsPerNode;
        }
        Thread.Sleep(1500); // the survivors' audit pipelines drain asynchronously
        AuditCheck.Result audit = AuditCheck.Read([.. _o.Nodes.Select(x => Path.Combine(_o.WorkDirectory, x.Id + ".audit.jsonl"))]);
        r.AuditSessions = audit.Sessions;
        r.AuditVersionGaps = audit.SessionsWithVersionGaps;
        _log.Write(r.Summary());
        return r;
    }

    private static void Summarise(FailoverResult r, List<SessionTrace> traces, long killMs, long endMs, FailoverDriver driver,
        long? opsAtKill, long? opsAtEnd, Dictionary<string, double> cpu0, Dictionary<string, double> cpu1)
    {
        var gaps = new List<double>();
        var resumes = new List<double>();
        var silent = new List<double>();
        var afterSilent = new List<double>();
        long lastResume = killMs;
        var lostReasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var refusalReasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (SessionTrace t in traces)
        {
            foreach ((ReasonCode reason, int count) in t.Refusals ?? [])
            {
                string name = WireNames.Of(reason);
                refusalReasons[name] = refusalReasons.GetValueOrDefault(name) + count;
            }
            r.MoreThanTwoTransitions += t.Resumed && !t.TookExactly(FailoverSemantics.VersionsPerFailover) ? 1 : 0;
            if (t.Lost)
            {
                string reason = WireNames.Of(t.LostReason);
                lostReasons[reason] = lostReasons.GetValueOrDefault(reason) + 1;
            }
            if (t.Resumed)
            {
                r.Resumed++;
                gaps.Add(t.GapMs);
                resumes.Add(t.ResumeMs);
                lastResume = Math.Max(lastResume, t.FirstAnswerAfterKillMs);
            }
            r.Lost += t.Lost ? 1 : 0;
            r.SessionsRefused += t.RetryableRefusals > 0 ? 1 : 0;
            r.Refusals += t.RetryableRefusals;
            r.IdsChanged += t.IdChanged ? 1 : 0;
            r.MovedAgain += t.SilentEpisodes > 1 ? 1 : 0;
            if (t.SilentAtMs >= 0)
            {
                silent.Add(t.SilentAtMs - killMs);
                if (t.Resumed)
                {
                    afterSilent.Add(t.FirstAnswerAfterKillMs - t.SilentAtMs);
                }
            }
        }
        r.LostReasons = lostReasons;
        r.RefusalReasons = refusalReasons;
        r.GapP50Ms = Stats.Percentile(gaps, 50);
        r.GapP90Ms = Stats.Percentile(gaps, 90);
        r.GapP99Ms = Stats.Percentile(gaps, 99);
        r.GapMaxMs = Stats.Percentile(gaps, 100);
        r.ResumeP50Ms = Stats.Percentile(resumes, 50);
        r.ResumeP99Ms = Stats.Percentile(resumes, 99);
        r.ResumeMaxMs = Stats.Percentile(resumes, 100);
        r.SilentP50Ms = Stats.Percentile(silent, 50);
        r.AfterSilentP99Ms = Stats.Percentile(afterSilent, 99);
        // The takeover: from the kill to the last session resumed (or the bound).
        long takeoverEnd = r.Resumed + r.Lost >= traces.Count ? lastResume : endMs;
        r.TakeoverSeconds = Math.Max(1, takeoverEnd - killMs) / 1000.0;
        double windowSeconds = Math.Max(1, endMs - killMs) / 1000.0;
        if (opsAtKill is long a && opsAtEnd is long b)
        {
            r.TakeoverStoreOpsPerSecond = (b - a) / windowSeconds;
        }
        r.CookieReplies = driver.CookieReplies;
        r.Moves = driver.Moves;
        r.CookieResends = driver.CookieResends;
        List<long> hs;
        lock (driver.HandshakeTimes)
        {
            hs = [.. driver.HandshakeTimes.Where(x => x >= killMs)];
        }
        if (hs.Count > 0)
        {
            r.TakeoverHandshakesPerSecond = hs.Count / (Math.Max(1, hs.Max() - killMs) / 1000.0);
            r.TakeoverHandshakesPeakPerSecond = hs.GroupBy(x => (x - killMs) / 1000).Max(g => g.Count());
        }
        var cpu = new Dictionary<string, double>(StringComparer.Ordinal);
        double busy = 0;
        foreach ((string name, double before) in cpu0)
        {
            if (cpu1.TryGetValue(name, out double after))
            {
                cpu[name] = after - before;
                busy += after - before;
            }
        }
        r.TakeoverCpuSeconds = cpu;
        r.TakeoverCpuBusy = busy / windowSeconds / Environment.ProcessorCount;
    }

    /// <summary>CPU seconds so far of this generator and of every process named with --cpu-pid (the killed node excluded).</summary>
    private Dictionary<string, double> CpuSeconds()
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal) { ["loadgen"] = BenchServer.ProcessCpuSeconds(Environment.ProcessId) };
        foreach ((string name, int pid) in _o.CpuPids)
        {
            if (pid != _o.OwnerPid && File.Exists($"/proc/{pid}/stat"))
            {
                d[name] = BenchServer.ProcessCpuSeconds(pid);
            }
        }
        return d;
    }

    /// <summary>
    /// The store's view through the status command, tried three times (a store busy with the takeover
    /// may miss a reader's deadline); null when it never answered: the owner columns then stay -1.
    /// </summary>
    private Dictionary<string, StoreSession>? ReadStore()
    {
        if (_o.StoreStatusCommand is not { } status)
        {
            return null;
        }
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return OwnershipCheck.ParseStatus(Shell(status, TimeSpan.FromSeconds(120)));
            }
            catch (IOException ex) when (attempt < 3)
            {
                _log.WriteLine($"  store status, attempt {attempt}: {ex.Message}");
                Thread.Sleep(2000);
            }
            catch (IOException ex)
            {
                _log.WriteLine($"  store status: {ex.Message}; no owner or version figures");
                return null;
            }
        }
    }

    private long? StoreOps()
    {
        if (_o.StoreOpsCommand is not { } cmd)
        {
            return null;
        }
        string text = Shell(cmd, TimeSpan.FromSeconds(20)).Trim();
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
        {
            return v;
        }
        _log.WriteLine($"  store ops command printed `{text}`, not a count: no store ops figure");
        return null;
    }

    /// <summary>The session ids a live node serves, from its own table (control socket, jvpn_session=1).</summary>
    private HashSet<string>? NodeSessions(FailoverNode node)
    {
        try
        {
            string reply = UapiClient.Request(node.Interface, SessionStatusReply.Operation + "\n\n");
            if (!SessionStatusReply.TryParse(reply, out Dictionary<string, SessionStatusRecord> records))
            {
                return null;
            }
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (SessionStatusRecord rec in records.Values)
            {
                if (rec.Role == "server" && rec.SessionId.Length > 0 && rec.State != "TERMINATED")
                {
                    ids.Add(rec.SessionId);
                }
            }
            return ids;
        }
        catch (Exception ex) when (ex is UapiException or IOException or System.Net.Sockets.SocketException)
        {
            _log.WriteLine($"  {node.Id}: control socket {node.Interface} did not answer ({ex.Message})");
            return null;
        }
    }

    /// <summary>Runs <paramref name="command"/> with /bin/sh and returns its standard output; a failure is an IOException.</summary>
    private static string Shell(string command, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using Process p = Process.Start(psi) ?? throw new IOException($"cannot run {command}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new IOException($"`{command}` did not finish within {timeout.TotalSeconds:F0} s");
        }
        if (p.ExitCode != 0)
        {
            throw new IOException($"`{command}` exited with code {p.ExitCode}: {stderr.Result.Trim()}");
        }
        return stdout.Result;
    }
}
