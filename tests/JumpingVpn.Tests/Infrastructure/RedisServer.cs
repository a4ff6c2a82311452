using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A private redis-server for one test: on 127.0.0.1 (or inside a namespace we created) on a random high
/// port, persistence in its own temporary directory, started and stopped by PID. The append-only file is
/// written before Redis answers a write, so a stop/start of the process keeps every acknowledged write; fsync
/// is left to the kernel (appendfsync no) because these outages are process outages, not machine crashes, and
/// an fsync per write stalled answers past the client timeout while other tests were writing packages. <see cref="Stop"/>/<see cref="Start"/> simulate an
/// outage; Dispose kills it and deletes the directory, so no redis process is left behind.
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly NetNs? _ns;
    private readonly string _dir;
    private ManagedProcess? _process;

    private RedisServer(NetNs? ns, string bind, int port)
    {
        _ns = ns;
        Bind = bind;
        Port = port;
        _dir = Directory.CreateTempSubdirectory("jvc6-redis-").FullName;
    }

    public string Bind { get; }

    public int Port { get; }

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>The store URL for jvpn, with a per-test key prefix and a short timeout (cluster tests that
    /// watch a node give up on the store want it short; store tests that only need answers pass a longer one,
    /// so a CI machine busy with other work cannot turn a slow answer into "unavailable").</summary>
    public string Url(string prefix = "t", string lease = "10s", string timeout = "1s") =>
        string.Create(CultureInfo.InvariantCulture, $"redis://{Bind}:{Port}/0?prefix={prefix}&timeout={timeout}&lease={lease}");

    /// <summary>Starts redis-server on loopback (no namespace) or on <paramref name="bind"/> inside <paramref name="ns"/>.</summary>
    public static RedisServer StartNew(NetNs? ns = null, string bind = "127.0.0.1")
    {
        int port = ns is null ? FreeLoopbackPort() : Random.Shared.Next(20_000, 60_000);
        var server = new RedisServer(ns, bind, port);
        try
        {
            server.Start();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    public void Start()
    {
        string[] args =
        [
            "--bind", Bind, "--port", Port.ToString(CultureInfo.InvariantCulture), "--dir", _dir,
            "--save", "", "--appendonly", "yes", "--appendfsync", "no", "--protected-mode", "no",
            "--daemonize", "no", "--logfile", "",
        ];
        _process = _ns is null ? ManagedProcess.Start("redis-server", args) : _ns.Start("redis-server", args);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("redis-server exited: " + _process.Describe());
            }
            if (_process.Output.Contains("Ready to accept connections", StringComparison.Ordinal))
            {
                return;
            }
            Thread.Sleep(50);
        }
        throw new InvalidOperationException("redis-server did not become ready: " + _process.Describe());
    }

    /// <summary>Stops redis-server (SIGTERM, then kill by PID): the store is unreachable until <see cref="Start"/>.</summary>
    public void Stop()
    {
        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
