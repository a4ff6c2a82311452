using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Interface;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// The server under test: a real `jvpn up` child process (same binary) in the caller's network
/// namespace, with the simulated clients in a peers file. Its resident memory is read from
/// /proc/PID/status and its data-plane counters from the control socket (`jvpn_stats=1`).
/// </summary>
internal sealed class BenchServer : IDisposable
{
    public const uint ServerInner = (10u << 24) | (64u << 16) | 1; // 10.64.0.1/10 holds 4M clients
    private readonly Process _process;

    private BenchServer(Process process, string name, int port, double loadSeconds, string auditPath, string directory, byte[] publicKey)
    {
        PublicKey = publicKey;
        _process = process;
        Name = name;
        Endpoint = new IPEndPoint(IPAddress.Loopback, port);
        LoadSeconds = loadSeconds;
        AuditPath = auditPath;
        Directory = directory;
    }

    public string Name { get; }
    public IPEndPoint Endpoint { get; }
    public double LoadSeconds { get; }
    public string AuditPath { get; }
    public string Directory { get; }
    public int Pid => _process.Id;
    public byte[] PublicKey { get; }

    public static uint ClientInner(int id) => ServerInner + 1 + (uint)id;

    public static string FormatInner(uint a) => $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}";

    /// <summary>Writes the config and peers file, starts `jvpn up`, waits until its control socket answers.</summary>
    public static BenchServer Start(string name, int port, byte[] serverPrivate, IReadOnlyList<SimClient> clients,
        string directory, IReadOnlyDictionary<string, string> policy, TextWriter log)
    {
        System.IO.Directory.CreateDirectory(directory);
        string peersPath = Path.Combine(directory, name + ".peers");
        using (var w = new StreamWriter(peersPath, false, new UTF8Encoding(false), 1 << 20))
        {
            PeersFile.Write(w, clients.Select(c => (c.PublicKey, FormatInner(ClientInner(c.Id)) + "/32")));
        }
        string auditPath = Path.Combine(directory, name + ".audit.jsonl");
        File.Delete(auditPath);
        var conf = new StringBuilder();
        conf.Append("[Interface]\nPrivateKey = ").Append(WireGuardKey.ToBase64(serverPrivate)).Append('\n');
        conf.Append("Address = ").Append(FormatInner(ServerInner)).Append("/10\n");
        conf.Append("ListenPort = ").Append(port.ToString(CultureInfo.InvariantCulture)).Append("\n\n[Jumping]\n");
        conf.Append("SessionLayer = server\nPeers = ").Append(name).Append(".peers\n");
        conf.Append("AuditLog = ").Append(auditPath).Append("\nAuditMaxBytes = 4000000000\n");
        foreach ((string k, string v) in policy)
        {
            conf.Append(k).Append(" = ").Append(v).Append('\n');
        }
        string confPath = Path.Combine(directory, name + ".conf");
        File.WriteAllText(confPath, conf.ToString());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(confPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        // jvpn.dll is built next to the generator (a project reference); the same dotnet host runs it.
        string? self = Environment.ProcessPath;
        string host = self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var psi = new ProcessStartInfo(host)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jvpn.dll"));
        psi.ArgumentList.Add("up");
        psi.ArgumentList.Add(confPath);
        var sw = Stopwatch.StartNew();
        Process p = Process.Start(psi) ?? throw new IOException("cannot start jvpn up");
        string errPath = Path.Combine(directory, name + ".server.log");
        var err = new StreamWriter(errPath) { AutoFlush = true };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (err) { err.WriteLine(e.Data); } } };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (err) { err.WriteLine(e.Data); } } };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        while (sw.Elapsed < TimeSpan.FromSeconds(180))
        {
            if (p.HasExited)
            {
                throw new IOException($"jvpn up exited with code {p.ExitCode}; see {errPath}");
            }
            try
            {
                UapiClient.Request(name, "jvpn_stats=1\n\n");
                break;
            }
            catch (Exception ex) when (ex is UapiException or IOException or System.Net.Sockets.SocketException)
            {
                Thread.Sleep(20);
            }
        }
        log.WriteLine($"  server {name}: {clients.Count} peers loaded and serving in {sw.Elapsed.TotalSeconds:F2} s (pid {p.Id})");
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(serverPrivate, pub);
        return new BenchServer(p, name, port, sw.Elapsed.TotalSeconds, auditPath, directory, pub);
    }

    /// <summary>VmRSS of the server process in bytes.</summary>
    public long RssBytes()
    {
        foreach (string line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                string kb = line[6..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>CPU seconds (user + system) the server process has used so far.</summary>
    public double CpuSeconds() => ProcessCpuSeconds(_process.Id);

    /// <summary>CPU seconds (user + system) process <paramref name="pid"/> has used so far.</summary>
    public static double ProcessCpuSeconds(int pid)
    {
        string[] f = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Trim().Split(' ');
        // fields after "(comm)": state is [0]; utime is field 14 overall -> [11], stime [12]
        long ticks = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    public Dictionary<string, long> Stats() => DataPlaneStats.Parse(UapiClient.Request(Name, "jvpn_stats=1\n\n"));

    public void Dispose()
    {
        try
        {
            UapiClient.Request(Name, "jvpn_down=1\n\n");
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill();
            }
        }
        catch (Exception ex) when (ex is UapiException or IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        _process.WaitForExit();
        _process.Dispose();
    }
}
