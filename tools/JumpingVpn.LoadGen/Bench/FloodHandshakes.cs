using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// New clients' first handshake while a keyless flood runs (docs/scaling.md, "Handshake admission"): random
/// 148-byte initiations (right type and length, no valid mac1) from 250 loopback source addresses, as fast
/// as one generator thread sends them (or at --flood-pps), against a `jvpn up` server and, in the same
/// run, wireguard-go servers with the same peers. Each new client has its own source address and
/// behaves like a WireGuard client: one initiation, then a retry every 5 s (REKEY_TIMEOUT) carrying the
/// cookie if it got a cookie reply. Latency is from sending the first initiation to receiving the
/// response that validates (the client's own crypto is left out: it is the server being compared).
/// </summary>
internal sealed class FloodHandshakes
{
    public const int FloodSources = 250;
    private const double RetrySeconds = 5;  // REKEY_TIMEOUT
    private const int MaxAttempts = 4;      // then the client counts as failed (~20 s)

    private readonly ControlBenchOptions _o;
    private readonly TextWriter _log;

    public FloodHandshakes(ControlBenchOptions options, TextWriter log)
    {
        _o = options;
        _log = log;
    }

    /// <summary>The jvpn server, then each wireguard-go binary found, one after the other on the same port.</summary>
    public List<FloodHandshakeResult> Run()
    {
        var results = new List<FloodHandshakeResult>();
        int clients = _o.FloodClients;
        byte[] serverPrivate = new byte[32];
        X25519.GeneratePrivateKey(serverPrivate);
        byte[] serverPublic = new byte[32];
        X25519.DerivePublicKey(serverPrivate, serverPublic);
        var keys = new byte[clients][];
        for (int i = 0; i < clients; i++)
        {
            keys[i] = new byte[32];
            X25519.GeneratePrivateKey(keys[i]);
        }
        SimClient[] Fresh() => Enumerable.Range(0, clients).Select(i => new SimClient(i, keys[i], serverPublic, BenchServer.ClientInner(i))).ToArray();
        int port = _o.Port + 90;
        string name = _o.InterfacePrefix + "f";

        WarmUp(serverPublic);
        _log.WriteLine($"== new clients' first handshake during a keyless flood from {FloodSources} sources ({clients} clients, one every {_o.FloodClientSpacingMs} ms)");
        {
            SimClient[] sim = Fresh();
            var policy = new Dictionary<string, string> { ["max_sessions"] = (clients + 100).ToString(CultureInfo.InvariantCulture) };
            using BenchServer server = BenchServer.Start(name, port, serverPrivate, sim, Path.Combine(_o.WorkDirectory, "flood"), policy, _log);
            Dictionary<string, long> before = server.Stats();
            FloodHandshakeResult r = Measure("jvpn", sim, server.Endpoint, server.Pid);
            Dictionary<string, long> after = server.Stats();
            r.ServerCookieReplies = after.GetValueOrDefault("cookie_replies_sent") - before.GetValueOrDefault("cookie_replies_sent");
            r.ServerMac1Invalid = after.GetValueOrDefault("handshakes_mac1_invalid") - before.GetValueOrDefault("handshakes_mac1_invalid");
            r.ServerRefusedAtAdmission = after.GetValueOrDefault("handshakes_admission_source_limited") + after.GetValueOrDefault("handshakes_admission_global_limited")
                - before.GetValueOrDefault("handshakes_admission_source_limited") - before.GetValueOrDefault("handshakes_admission_global_limited");
            results.Add(Report(r));
        }
        int index = 0;
        foreach ((string label, string path) in WireGuardGoBinaries())
        {
            SimClient[] sim = Fresh();
            // A name of its own: the previous server's interface may still be on its way out.
            string wgName = name + (++index).ToString(CultureInfo.InvariantCulture);
            using var server = WireGuardGoServer.Start(path, wgName, port, serverPrivate, sim, Path.Combine(_o.WorkDirectory, "flood"), _log);
            if (server is null)
            {
                continue;
            }
            results.Add(Report(Measure(label, sim, new IPEndPoint(IPAddress.Loopback, port), server.Pid)));
        }
        return results;
    }

    /// <summary>
    /// Runs the clients' handshake code until the JIT has optimized it, so the first server measured does
    /// not pay for the generator's warm-up (a cold initiation takes milliseconds of the generator's CPU).
    /// </summary>
    private static void WarmUp(byte[] serverPublic)
    {
        byte[] message = new byte[MessageLayout.InitiationSize];
        byte[] key = new byte[32];
        for (int i = 0; i < 200; i++)
        {
            X25519.GeneratePrivateKey(key);
            new SimClient(i, key, serverPublic, 0).WriteInitiation(message, NowNs(), (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
        }
        Thread.Sleep(500); // tiered compilation promotes hot methods in the background
    }

    private FloodHandshakeResult Report(FloodHandshakeResult r)
    {
        _log.WriteLine($"  {r.Server,-24} flood {r.FloodPps / 1000:F0}k pkt/s: {r.Completed}/{r.Clients} completed, {r.Retried} needed a retry, " +
            $"{r.CookieRepliesReceived} cookie replies, {r.KernelReceiveBufferDrops} datagrams dropped by the kernel (receive queue full), server CPU {r.ServerCpuPct:F0}%; handshake p50 {r.P50Ms:F1} ms p99 {r.P99Ms:F1} ms max {r.MaxMs:F1} ms" +
            (r.Server == "jvpn" ? $"; server: mac1-invalid {r.ServerMac1Invalid}, refused at admission {r.ServerRefusedAtAdmission}, cookie replies {r.ServerCookieReplies}" : ""));
        return r;
    }

    /// <summary>Debian's wireguard-go and, when the WG_ANCHOR environment variable names one, another build (e.g. current upstream).</summary>
    private IEnumerable<(string Label, string Path)> WireGuardGoBinaries()
    {
        if (!_o.FloodCompareWireGuardGo)
        {
            yield break;
        }
        if (File.Exists("/usr/bin/wireguard-go"))
        {
            yield return ("wireguard-go (Debian)", "/usr/bin/wireguard-go");
        }
        string? anchor = Environment.GetEnvironmentVariable("WG_ANCHOR");
        if (!string.IsNullOrEmpty(anchor) && File.Exists(anchor))
        {
            yield return ("wireguard-go (" + Path.GetFileName(anchor).Replace("wireguard-go-", "", StringComparison.Ordinal) + ")", anchor);
        }
    }

    private FloodHandshakeResult Measure(string label, SimClient[] clients, IPEndPoint server, int serverPid)
    {
        using var flood = new Flood(server, _o.KeylessFloodPps ?? _o.FloodPps);
        flood.Start();
        Thread.Sleep(1000); // the flood is at full rate before the first new client
        long sent0 = flood.Sent;
        long rcvbufErrors0 = UdpReceiveBufferErrors();
        double cpu0 = BenchServer.ProcessCpuSeconds(serverPid);
        var sw = Stopwatch.StartNew();
        var tasks = new Task<ClientOutcome>[clients.Length];
        for (int i = 0; i < clients.Length; i++)
        {
            tasks[i] = FirstHandshake(clients[i], server);
            Thread.Sleep(_o.FloodClientSpacingMs);
        }
        Task.WaitAll(tasks);
        double seconds = sw.Elapsed.TotalSeconds;
        long sent = flood.Sent - sent0;
        long rcvbufErrors = UdpReceiveBufferErrors() - rcvbufErrors0;
        double cpu = BenchServer.ProcessCpuSeconds(serverPid) - cpu0;
        flood.Stop();
        var latencies = tasks.Where(t => t.Result.LatencyMs >= 0).Select(t => t.Result.LatencyMs).ToList();
        return new FloodHandshakeResult
        {
            Server = label,
            Clients = clients.Length,
            Completed = latencies.Count,
            Retried = tasks.Count(t => t.Result.Attempts > 1),
            CookieRepliesReceived = tasks.Sum(t => t.Result.CookieReplies),
            P50Ms = Stats.Percentile(latencies, 50),
            P99Ms = Stats.Percentile(latencies, 99),
            MaxMs = latencies.Count == 0 ? double.NaN : latencies.Max(),
            FloodPps = sent / Math.Max(seconds, 1e-9),
            KernelReceiveBufferDrops = rcvbufErrors,
            ServerCpuPct = cpu * 100 / Math.Max(seconds, 1e-9),
        };
    }

    /// <summary>
    /// The namespace's UDP RcvbufErrors (/proc/net/snmp): datagrams the kernel dropped because a socket's
    /// receive queue was full. A flood faster than the server's one receive thread loses genuine
    /// initiations here, before any admission logic sees them (docs/scaling.md, "Floods").
    /// </summary>
    private static long UdpReceiveBufferErrors()
    {
        try
        {
            string[] lines = File.ReadAllLines("/proc/net/snmp");
            for (int i = 0; i + 1 < lines.Length; i++)
            {
                if (lines[i].StartsWith("Udp:", StringComparison.Ordinal) && lines[i + 1].StartsWith("Udp:", StringComparison.Ordinal))
                {
                    int column = Array.IndexOf(lines[i].Split(' '), "RcvbufErrors");
                    return column < 0 ? -1 : long.Parse(lines[i + 1].Split(' ')[column], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        return -1;
    }

    private readonly record struct ClientOutcome(double LatencyMs, int Attempts, int CookieReplies);

    /// <summary>One new client from its own address (127.0.50.x): initiation, retries every 5 s, until a valid response.</summary>
    private static async Task<ClientOutcome> FirstHandshake(SimClient c, IPEndPoint server)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(new IPAddress([127, 0, (byte)(50 + (c.Id >> 8)), (byte)(1 + (c.Id & 255))]), 0));
        byte[] message = new byte[MessageLayout.InitiationSize];
        byte[] buffer = new byte[256];
        long start = 0;
        int cookies = 0;
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            c.WriteInitiation(message, NowNs(), (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
            if (attempt == 1)
            {
                start = Stopwatch.GetTimestamp();
            }
            await socket.SendToAsync(message, SocketFlags.None, server).ConfigureAwait(false);
            using var retry = new CancellationTokenSource(TimeSpan.FromSeconds(RetrySeconds));
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, retry.Token).ConfigureAwait(false);
                    long arrived = Stopwatch.GetTimestamp();
                    ReadOnlySpan<byte> d = buffer.AsSpan(0, n);
                    if (n == MessageLayout.ResponseSize && d[0] == MessageLayout.TypeResponse
                        && BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.RespReceiver..]) == c.LocalIndex
                        && c.ConsumeResponse(d, 0))
                    {
                        return new ClientOutcome(Stopwatch.GetElapsedTime(start, arrived).TotalMilliseconds, attempt, cookies);
                    }
                    if (n == MessageLayout.CookieReplySize && d[0] == MessageLayout.TypeCookieReply && c.ConsumeCookieReply(d, NowNs()))
                    {
                        cookies++; // kept for the retry's mac2, as a WireGuard client does
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // REKEY_TIMEOUT passed without a response: retransmit
            }
        }
        return new ClientOutcome(-1, MaxAttempts, cookies);
    }

    private static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>One thread sending keyless initiations round-robin from <see cref="FloodSources"/> loopback addresses.</summary>
    private sealed class Flood : IDisposable
    {
        private readonly Socket[] _sockets = new Socket[FloodSources];
        private readonly byte[][] _messages = new byte[256][];
        private readonly IPEndPoint _target;
        private readonly double _pps;
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _sent;

        public Flood(IPEndPoint target, double pps)
        {
            _target = target;
            _pps = pps;
            for (int i = 0; i < _sockets.Length; i++)
            {
                _sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                _sockets[i].Bind(new IPEndPoint(new IPAddress([127, 0, 100, (byte)(1 + i)]), 0));
            }
            var rng = new Random(250);
            for (int i = 0; i < _messages.Length; i++)
            {
                _messages[i] = new byte[MessageLayout.InitiationSize];
                rng.NextBytes(_messages[i]);
                _messages[i][0] = MessageLayout.TypeInitiation;
                _messages[i][1] = _messages[i][2] = _messages[i][3] = 0;
            }
            _thread = new Thread(Send) { IsBackground = true, Name = "keyless-flood" };
        }

        public long Sent => Interlocked.Read(ref _sent);

        public void Start() => _thread.Start();

        public void Stop()
        {
            _stop = true;
            _thread.Join();
        }

        private void Send()
        {
            long start = Stopwatch.GetTimestamp();
            long i = 0;
            while (!_stop)
            {
                if (_pps > 0 && i >= Stopwatch.GetElapsedTime(start).TotalSeconds * _pps)
                {
                    Thread.Sleep(1);
                    continue;
                }
                try
                {
                    _sockets[i % FloodSources].SendTo(_messages[i & 255], SocketFlags.None, _target);
                }
                catch (SocketException)
                {
                    // ENOBUFS or the like while the server is busy: the flood goes on
                }
                i++;
                Interlocked.Exchange(ref _sent, i);
            }
        }

        public void Dispose()
        {
            if (!_stop && _thread.IsAlive)
            {
                Stop();
            }
            foreach (Socket s in _sockets)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>A wireguard-go server in the current namespace, configured with `wg setconf` and brought up.</summary>
    private sealed class WireGuardGoServer : IDisposable
    {
        private readonly Process _process;
        private readonly string _name;

        public int Pid => _process.Id;

        private WireGuardGoServer(Process process, string name)
        {
            _process = process;
            _name = name;
        }

        public static WireGuardGoServer? Start(string binary, string name, int port, byte[] serverPrivate, SimClient[] clients, string directory, TextWriter log)
        {
            Directory.CreateDirectory(directory);
            var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-f");
            psi.ArgumentList.Add(name);
            psi.Environment["WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"] = "1";
            psi.Environment["LOG_LEVEL"] = "error";
            Process p = Process.Start(psi) ?? throw new IOException($"cannot start {binary}");
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var server = new WireGuardGoServer(p, name);
            var sw = Stopwatch.StartNew();
            while (!File.Exists($"/var/run/wireguard/{name}.sock"))
            {
                if (p.HasExited || sw.Elapsed > TimeSpan.FromSeconds(10))
                {
                    log.WriteLine($"  {binary} did not start (exit code {(p.HasExited ? p.ExitCode : -1)}); skipped");
                    server.Dispose();
                    return null;
                }
                Thread.Sleep(20);
            }
            var conf = new StringBuilder();
            conf.Append("[Interface]\nPrivateKey = ").Append(WireGuardKey.ToBase64(serverPrivate)).Append("\nListenPort = ").Append(port.ToString(CultureInfo.InvariantCulture)).Append('\n');
            foreach (SimClient c in clients)
            {
                conf.Append("\n[Peer]\nPublicKey = ").Append(WireGuardKey.ToBase64(c.PublicKey))
                    .Append("\nAllowedIPs = ").Append(BenchServer.FormatInner(BenchServer.ClientInner(c.Id))).Append("/32\n");
            }
            string confPath = Path.Combine(directory, name + ".wg");
            File.WriteAllText(confPath, conf.ToString());
            if (Run("wg", "setconf", name, confPath) != 0 || Run("ip", "link", "set", name, "up") != 0)
            {
                log.WriteLine($"  {binary}: wg setconf / ip link set up failed; skipped");
                server.Dispose();
                return null;
            }
            log.WriteLine($"  server {binary}: {clients.Length} peers, serving (pid {p.Id})");
            Thread.Sleep(500);
            return server;
        }

        private static int Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in args)
            {
                psi.ArgumentList.Add(a);
            }
            using Process p = Process.Start(psi) ?? throw new IOException($"cannot start {file}");
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
            _process.Dispose();
            Run("ip", "link", "del", _name); // normally gone with the process; harmless otherwise
            File.Delete($"/var/run/wireguard/{_name}.sock"); // a killed wireguard-go leaves its UAPI socket
        }
    }
}

/// <summary>One server's figures in <see cref="FloodHandshakes"/>.</summary>
internal sealed class FloodHandshakeResult
{
    public required string Server { get; init; }
    public int Clients { get; init; }
    public int Completed { get; init; }
    public int Retried { get; init; }
    public int CookieRepliesReceived { get; init; }
    public double P50Ms { get; init; }
    public double P99Ms { get; init; }
    public double MaxMs { get; init; }
    public double FloodPps { get; init; }
    public long KernelReceiveBufferDrops { get; init; }
    public double ServerCpuPct { get; init; }
    public long ServerCookieReplies { get; set; }
    public long ServerMac1Invalid { get; set; }
    public long ServerRefusedAtAdmission { get; set; }
}
