using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Etcdserverpb;
using JumpingVpn.Control.Cluster;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A private one-member etcd for one test: on 127.0.0.1 (or on an address inside a namespace we created) on
/// random high ports, its data in its own temporary directory, started and stopped by PID. Configured like an
/// operator's etcd: authentication on (a root user with a random password, `auth enable`), optionally TLS
/// only with a CA and server certificate made for the test. etcd commits to its write-ahead log (fsync)
/// before it answers, so <see cref="Stop"/>/<see cref="Start"/> keeps every acknowledged write; Dispose kills
/// it and deletes the directory, so no etcd process is left behind.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class EtcdServer : IDisposable
{
    /// <summary>etcd's built-in administrator; the only user an `auth enable`d etcd starts with.</summary>
    public const string User = "root";

    private readonly NetNs? _ns;
    private readonly string _dir;
    private readonly int _peerPort;
    private readonly string _name;
    private readonly bool _clientCertificates;
    private ManagedProcess? _process;

    private EtcdServer(NetNs? ns, string bind, int port, int peerPort, bool tls, string name = "jv", string? password = null, bool clientCertificates = false)
    {
        _clientCertificates = clientCertificates;
        _ns = ns;
        Bind = bind;
        Port = port;
        _peerPort = peerPort;
        _name = name;
        _dir = Directory.CreateTempSubdirectory("jvc-etcd-").FullName;
        Password = password ?? NetNs.RandomHex(12);
        InitialCluster = name + "=" + PeerUrl;
        PasswordFile = Path.Combine(_dir, "store.pass");
        File.WriteAllText(PasswordFile, Password + "\n");
        File.SetUnixFileMode(PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (tls)
        {
            Tls = TestCertificates.Create(_dir, [bind]);
        }
    }

    public string Bind { get; }

    /// <summary>This member's peer URL (Raft traffic between members).</summary>
    public string PeerUrl => string.Create(CultureInfo.InvariantCulture, $"http://{Bind}:{_peerPort}");

    /// <summary>`NAME=PEER_URL,...` of every member (this one alone unless <see cref="StartCluster"/> set it).</summary>
    private string InitialCluster { get; set; }

    /// <summary>
    /// The member that is the Raft leader now, as the members themselves report it (Maintenance Status: the leader's
    /// id equals its own member id), asked until one answers so within 20 s. Not read from the logs: the captured
    /// output keeps only its last 32-64 KiB, and on a loaded machine heartbeat warnings push the election line out of
    /// it, or a re-election leaves that line in two members' logs.
    /// </summary>
    public static EtcdServer Leader(IReadOnlyList<EtcdServer> members)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            foreach (EtcdServer m in members)
            {
                try
                {
                    using EtcdConnection connection = EtcdConnection.Open(m.StoreUrl());
                    StatusResponse status = connection.Call((client, headers, deadline) => client.Status(new StatusRequest(), headers, deadline), DateTime.UtcNow.AddSeconds(2));
                    if (status.Leader != 0 && status.Leader == status.Header.MemberId)
                    {
                        return m;
                    }
                    last = string.Create(CultureInfo.InvariantCulture, $"{m._name}: leader {status.Leader:x}, self {status.Header.MemberId:x}");
                }
                catch (Grpc.Core.RpcException e)
                {
                    last = m._name + ": " + e.Status.Detail;
                }
            }
            Thread.Sleep(50);
        }
        throw new InvalidOperationException($"no etcd member reported itself leader within 20 s (last answer: {last})");
    }

    public int Port { get; }

    public string Password { get; }

    /// <summary><see cref="Password"/> in a 0600 file, for `[Jumping] StorePasswordFile`.</summary>
    public string PasswordFile { get; }

    /// <summary>The CA and server certificate of a TLS server, else null.</summary>
    public TestCertificates? Tls { get; }

    /// <summary>The store URL for jvpn (user in the URL, password from the file or environment); NodeTtl only when <paramref name="nodeTtl"/> names one.</summary>
    public string Url(string prefix = "t", string? nodeTtl = null, string timeout = "1s") =>
        string.Create(CultureInfo.InvariantCulture, $"{(Tls is null ? "etcd" : "etcds")}://{User}@{Bind}:{Port}?prefix={prefix}&timeout={timeout}{(nodeTtl is null ? "" : "&nodettl=" + nodeTtl)}");

    /// <summary><see cref="Url"/> parsed, with the password (and the test CA for TLS) as `jvpn up` would resolve them.</summary>
    public StoreUrl StoreUrl(string prefix = "t", string? nodeTtl = null, string timeout = "1s")
    {
        Assert.True(JumpingVpn.Control.Cluster.StoreUrl.TryParse(Url(prefix, nodeTtl, timeout), out StoreUrl url, out string? problem), problem);
        return url with { Access = new StoreAccess(User, Password, Tls?.CaFile, null, null, null) };
    }

    /// <summary>Starts etcd on loopback (no namespace) or on <paramref name="bind"/> inside <paramref name="ns"/>, with authentication on.</summary>
    /// <paramref name="clientCertificates"/>: TLS that also demands a client certificate signed by the test CA (--client-cert-auth).
    public static EtcdServer StartNew(NetNs? ns = null, string bind = "127.0.0.1", bool tls = false, bool clientCertificates = false)
    {
        int[] free = ns is null ? LoopbackPort.Distinct(2) : [];
        int port = ns is null ? free[0] : Random.Shared.Next(20_000, 40_000);
        int peer = ns is null ? free[1] : port + 20_000;
        var server = new EtcdServer(ns, bind, port, peer, tls || clientCertificates, clientCertificates: clientCertificates);
        try
        {
            server.Start();
            server.EnableAuthentication();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Three (or <paramref name="members"/>) members of one etcd cluster on loopback, one password, authentication on:
    /// started together (a member serves clients only once a quorum has formed).
    /// </summary>
    public static IReadOnlyList<EtcdServer> StartCluster(int members)
    {
        // A port handed out free can be taken (e.g. as another test's ephemeral source port) before a member binds
        // it; the member then exits with "address already in use", and the cluster starts again on fresh ports.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return TryStartCluster(members);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    private static List<EtcdServer> TryStartCluster(int members)
    {
        string password = NetNs.RandomHex(12);
        var servers = new List<EtcdServer>();
        try
        {
            int[] ports = LoopbackPort.Distinct(2 * members);
            for (int i = 0; i < members; i++)
            {
                servers.Add(new EtcdServer(null, "127.0.0.1", ports[2 * i], ports[(2 * i) + 1], false, "jv" + i.ToString(CultureInfo.InvariantCulture), password));
            }
            string cluster = string.Join(',', servers.Select(m => m._name + "=" + m.PeerUrl));
            foreach (EtcdServer m in servers)
            {
                m.InitialCluster = cluster;
                m.Launch();
            }
            foreach (EtcdServer m in servers)
            {
                m.WaitReady();
            }
            servers[0].EnableAuthentication();
            return servers;
        }
        catch
        {
            servers.ForEach(m => m.Dispose());
            throw;
        }
    }

    /// <summary>The store URL naming every member of <paramref name="members"/>.</summary>
    public static string ClusterUrl(IReadOnlyList<EtcdServer> members, string prefix, string timeout) =>
        $"etcd://{User}@{string.Join(',', members.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Bind}:{m.Port}")))}?prefix={prefix}&timeout={timeout}";

    public void Start()
    {
        Launch();
        WaitReady();
    }

    private void Launch()
    {
        string scheme = Tls is null ? "http" : "https";
        string client = string.Create(CultureInfo.InvariantCulture, $"{scheme}://{Bind}:{Port}");
        var args = new List<string>
        {
            "--name", _name, "--data-dir", Path.Combine(_dir, "data"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", PeerUrl, "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", InitialCluster, "--initial-cluster-state", "new",
            "--logger", "zap", "--log-outputs", "stderr",
        };
        if (Tls is not null)
        {
            args.AddRange(["--cert-file", Tls.ServerCertFile, "--key-file", Tls.ServerKeyFile]);
            if (_clientCertificates)
            {
                args.AddRange(["--client-cert-auth", "--trusted-ca-file", Tls.CaFile]);
            }
        }
        _process = _ns is null ? ManagedProcess.Start("etcd", args) : _ns.Start("etcd", args);
    }

    private void WaitReady()
    {
        if (_process is null)
        {
            throw new InvalidOperationException("etcd was not launched");
        }
        _process.WaitForOutput("\"msg\":\"serving client traffic", TimeSpan.FromSeconds(20), "etcd");
    }

    /// <summary>root with <see cref="Password"/> and the root role, then `auth enable`: from here on every call needs a token.</summary>
    private void EnableAuthentication()
    {
        if (_ns is not null)
        {
            // Inside the namespace (the server's address is not reachable from the test's own namespace).
            string endpoint = string.Create(CultureInfo.InvariantCulture, $"--endpoints=http://{Bind}:{Port}");
            _ns.Exec("etcdctl", [endpoint, "user", "add", User, "--new-user-password=" + Password, "--interactive=false"], TimeSpan.FromSeconds(20));
            _ns.Exec("etcdctl", [endpoint, "role", "add", "root"], TimeSpan.FromSeconds(20));
            _ns.Exec("etcdctl", [endpoint, "user", "grant-role", User, "root"], TimeSpan.FromSeconds(20));
            _ns.Exec("etcdctl", [endpoint, "auth", "enable"], TimeSpan.FromSeconds(20));
            return;
        }
        StoreUrl url = StoreUrl() with { Access = new StoreAccess(null, null, Tls?.CaFile, null, _clientCertificates ? Tls!.ClientCertFile : null, _clientCertificates ? Tls!.ClientKeyFile : null) };
        using EtcdConnection admin = EtcdConnection.Open(url);
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        admin.Client.UserAdd(new AuthUserAddRequest { Name = User, Password = Password }, null, deadline);
        try
        {
            admin.Client.RoleAdd(new AuthRoleAddRequest { Name = "root" }, null, deadline);
        }
        catch (Grpc.Core.RpcException e) when (e.Status.Detail.Contains("already exists", StringComparison.Ordinal))
        {
        }
        admin.Client.UserGrantRole(new AuthUserGrantRoleRequest { User = User, Role = "root" }, null, deadline);
        admin.Client.AuthEnable(new AuthEnableRequest(), null, deadline);
    }

    /// <summary>SIGKILL by PID, a crash: no leadership transfer, no goodbye to the other members (a SIGTERMed leader hands over first).</summary>
    public void Crash()
    {
        _process?.KillHard();
        Stop();
    }

    /// <summary>Stops etcd (SIGTERM, then kill by PID): the store is unreachable until <see cref="Start"/>.</summary>
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
