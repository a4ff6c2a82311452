using System.Globalization;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Control.Cluster;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A private redis-server for one test: on 127.0.0.1 (or inside a namespace we created) on a random high
/// port, persistence in its own temporary directory, started and stopped by PID. The append-only file is
/// written before Redis answers a write, so a stop/start of the process keeps every acknowledged write; fsync
/// is left to the kernel (appendfsync no) because these outages are process outages, not machine crashes, and
/// an fsync per write stalled answers past the client timeout while other tests were writing packages. <see cref="Stop"/>/<see cref="Start"/> simulate an
/// outage; Dispose kills it and deletes the directory, so no redis process is left behind.
/// Configured like an operator's Redis: protected mode on and a password (requirepass), optionally an ACL
/// user instead of the default user, and optionally TLS only (a CA and server certificate made for the test).
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly NetNs? _ns;
    private readonly string _dir;
    private readonly RedisSecurity _security;
    private ManagedProcess? _process;

    private RedisServer(NetNs? ns, string bind, int port, RedisSecurity security)
    {
        _ns = ns;
        Bind = bind;
        Port = port;
        _security = security;
        _dir = Directory.CreateTempSubdirectory("jvc6-redis-").FullName;
        Password = NetNs.RandomHex(12);
        PasswordFile = Path.Combine(_dir, "store.pass");
        File.WriteAllText(PasswordFile, Password + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        if (security.Tls)
        {
            Tls = TestCertificates.Create(_dir, security.TlsNames.Count > 0 ? security.TlsNames : [bind]);
        }
    }

    /// <summary>The password clients must send (the default user's requirepass, or the ACL user's).</summary>
    public string Password { get; }

    /// <summary><see cref="Password"/> in a 0600 file, for `[Jumping] StorePasswordFile`.</summary>
    public string PasswordFile { get; }

    /// <summary>The ACL user clients log in as, or null for the default user.</summary>
    public string? User => _security.User;

    /// <summary>The CA and server certificate of a TLS server, else null.</summary>
    public TestCertificates? Tls { get; }

    /// <summary>The environment a jvpn process needs to authenticate without a config file.</summary>
    public IReadOnlyDictionary<string, string> ClientEnvironment => new Dictionary<string, string> { [StoreAccess.PasswordVariable] = Password };

    /// <summary><see cref="Url"/> parsed, with the password (and the test CA for TLS) as `jvpn up` would resolve them.</summary>
    public StoreUrl StoreUrl(string prefix = "t", string? nodeTtl = null, string timeout = "1s")
    {
        Assert.True(JumpingVpn.Control.Cluster.StoreUrl.TryParse(Url(prefix, nodeTtl, timeout), out StoreUrl url, out string? problem), problem);
        return url with { Access = new StoreAccess(User, Password, Tls?.CaFile, null, null, null) };
    }

    public string Bind { get; }

    public int Port { get; }

    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>The store URL for jvpn, with a per-test key prefix and a short timeout (cluster tests that
    /// watch a node give up on the store want it short; store tests that only need answers pass a longer one,
    /// so a CI machine busy with other work cannot turn a slow answer into "unavailable"); NodeTtl only when
    /// <paramref name="nodeTtl"/> names one (null: jvpn's default).</summary>
    public string Url(string prefix = "t", string? nodeTtl = null, string timeout = "1s") =>
        string.Create(CultureInfo.InvariantCulture,
            $"{(Tls is null ? "redis" : "rediss")}://{(User is null ? "" : User + "@")}{Bind}:{Port}/0?prefix={prefix}&timeout={timeout}{(nodeTtl is null ? "" : "&nodettl=" + nodeTtl)}");

    /// <summary>Starts redis-server on loopback (no namespace) or on <paramref name="bind"/> inside <paramref name="ns"/>.</summary>
    public static RedisServer StartNew(NetNs? ns = null, string bind = "127.0.0.1", RedisSecurity? security = null)
    {
        int port = ns is null ? LoopbackPort.Free() : Random.Shared.Next(20_000, 60_000);
        var server = new RedisServer(ns, bind, port, security ?? RedisSecurity.Password);
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
        string port = Port.ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "--bind", Bind, "--dir", _dir,
            "--save", "", "--appendonly", "yes", "--appendfsync", "no", "--protected-mode", "yes",
            "--daemonize", "no", "--logfile", "",
        };
        if (Tls is null)
        {
            args.AddRange(["--port", port]);
        }
        else
        {
            args.AddRange(["--port", "0", "--tls-port", port, "--tls-cert-file", Tls.ServerCertFile, "--tls-key-file", Tls.ServerKeyFile,
                "--tls-ca-cert-file", Tls.CaFile, "--tls-auth-clients", _security.ClientCertificates ? "yes" : "no"]);
        }
        if (User is null)
        {
            args.AddRange(["--requirepass", Password]);
        }
        else
        {
            // The default user is switched off: only the ACL user with its password gets in.
            args.AddRange(["--user", "default", "off", "--user", User, "on", ">" + Password, "~*", "&*", "+@all"]);
        }
        _process = _ns is null ? ManagedProcess.Start("redis-server", args) : _ns.Start("redis-server", args);
        _process.WaitForOutput("Ready to accept connections", TimeSpan.FromSeconds(10), "redis-server");
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
}

/// <summary>How a test Redis is secured: always a password; optionally an ACL user and TLS.</summary>
internal sealed record RedisSecurity(string? User, bool Tls, IReadOnlyList<string> TlsNames, bool ClientCertificates = false)
{
    public static RedisSecurity Password { get; } = new(null, false, []);

    public static RedisSecurity AclUser(string user) => new(user, false, []);

    /// <summary>TLS with a server certificate for <paramref name="names"/> (IP addresses or DNS names; default: the bind address).</summary>
    public static RedisSecurity WithTls(params string[] names) => new(null, true, names);

    /// <summary>TLS that also demands a client certificate signed by the test CA (tls-auth-clients yes).</summary>
    public static RedisSecurity WithClientCertificates() => new(null, true, [], ClientCertificates: true);
}
