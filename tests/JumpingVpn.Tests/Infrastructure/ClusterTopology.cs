using System.Globalization;
using System.Net;
using JumpingVpn.Control.Cluster;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A jvpn server cluster in namespaces (docs/cluster.md):
/// <code>
///   [client 10.61.0.2] --- [router 10.61.0.1 | 10.62.i.1 | store 10.98.0.1 | service 10.99.0.1] --- [node i 10.62.i.2]  (i = 1..N)
/// </code>
/// Every node runs jvpn with the same server key and inner address 10.77.0.1/24, stores sessions in the
/// store on the router (Redis, or etcd with authentication on), and forwards the client's inner traffic (10.77.0.2) to the router. The router
/// answers pings to its service address 10.99.0.1 and routes 10.77.0.2 back to whichever node announced
/// it last (the nodes' OwnerUp hook: `ip route replace 10.77.0.2/32 via 10.62.i.2`), which is how return
/// traffic follows a failover here (docs/cluster.md says what a production network needs instead).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class ClusterTopology : IDisposable
{
    public const string ServiceV4 = "10.99.0.1";
    public const string StoreBind = "10.98.0.1";
    public const string ClientInnerV4 = "10.77.0.2";
    public const int Port = 51820;

    private readonly List<NetNs> _namespaces = [];
    private readonly Dictionary<int, JvpnPeer> _nodes = [];
    private readonly string _prefix = "c" + NetNs.RandomHex(3);

    private ClusterTopology(NetNs router, NetNs client, IReadOnlyList<NetNs> nodes, IReadOnlyList<NetNs> extraClients)
    {
        Router = router;
        Client = client;
        NodeNamespaces = nodes;
        ExtraClientNamespaces = extraClients;
        ExtraClientKeys = [.. extraClients.Select(_ => KeyPair.Generate())];
    }

    /// <summary>More clients (own namespace, key and inner address 10.77.0.(10+j)), known to every node.</summary>
    public IReadOnlyList<NetNs> ExtraClientNamespaces { get; }

    public IReadOnlyList<KeyPair> ExtraClientKeys { get; }

    /// <summary>
    /// A relay between the nodes and the store (<see cref="AddStoreProxy"/>): the nodes' store URL points at it,
    /// so a test can make the store slow or silent for the nodes alone.
    /// </summary>
    public LatencyTcpProxy? StoreProxy { get; private set; }

    public NetNs Router { get; }
    public NetNs Client { get; }
    public IReadOnlyList<NetNs> NodeNamespaces { get; }
    public RedisServer? Redis { get; private set; }
    public EtcdServer? Etcd { get; private set; }
    public JvpnPeer? ClientPeer { get; private set; }
    public KeyPair ServerKey { get; } = KeyPair.Generate();
    public KeyPair ClientKey { get; } = KeyPair.Generate();
    /// <summary>`nodettl=` in the store URL; null (the default) leaves jvpn's default NodeTtl (docs/cluster.md "Node liveness").</summary>
    public string? NodeTtl { get; set; }

    /// <summary>The store operation timeout the nodes use (a store behind a slow relay needs a longer one).</summary>
    public string StoreTimeout { get; set; } = "1s";

    /// <summary>Environment for the nodes and clients started from now on (e.g. `JVPN_LOG=debug` for the move trace).</summary>
    public IReadOnlyDictionary<string, string>? ProcessEnvironment { get; set; }

    public string StoreUrl => StoreProxy is { } proxy
        ? DirectStoreUrl.Replace(StoreBind + ":" + StorePort.ToString(CultureInfo.InvariantCulture), StoreBind + ":" + proxy.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        : DirectStoreUrl;

    /// <summary>The store itself (tools such as `jvpn cluster status` bypass the relay).</summary>
    private string DirectStoreUrl => Etcd?.Url(_prefix, NodeTtl, StoreTimeout) ?? Redis!.Url(_prefix, NodeTtl, StoreTimeout);

    private int StorePort => Etcd?.Port ?? Redis!.Port;

    public static string ExtraClientInnerV4(int j) => string.Create(CultureInfo.InvariantCulture, $"10.77.0.{10 + j}");

    /// <summary>Puts a <see cref="LatencyTcpProxy"/> on the router between the nodes and the store; call before starting nodes.</summary>
    public LatencyTcpProxy AddStoreProxy()
    {
        StoreProxy = LatencyTcpProxy.Start(Router, new IPEndPoint(IPAddress.Parse(StoreBind), 0), new IPEndPoint(IPAddress.Parse(StoreBind), StorePort));
        return StoreProxy;
    }

    private string StorePassword => Etcd?.Password ?? Redis!.Password;

    private string StorePasswordFile => Etcd?.PasswordFile ?? Redis!.PasswordFile;

    /// <summary>Stops the store process (an outage); <see cref="StartStore"/> brings it back with its data.</summary>
    public void StopStore()
    {
        Redis?.Stop();
        Etcd?.Stop();
    }

    public void StartStore()
    {
        Redis?.Start();
        Etcd?.Start();
    }

    /// <summary>
    /// Return traffic by NAT instead of owner hooks: every node masquerades the clients' inner traffic to its own
    /// address (the usual VPN server toward the internet), so replies come back to the node that forwarded the
    /// request, and the nodes run no OwnerUp/OwnerDown. Call before starting nodes. A test of the session
    /// protocol's own gap uses it: with hooks, return traffic also waits for a spawned `ip route replace`
    /// (docs/cluster.md "Drain" has both).
    /// </summary>
    public void MasqueradeAtNodes()
    {
        foreach (NetNs node in NodeNamespaces)
        {
            RouterNamespace.Nft(node, """
                table ip jvcluster {
                    chain post {
                        type nat hook postrouting priority 100; policy accept;
                        ip saddr 10.77.0.0/24 oifname "veth0" masquerade
                    }
                }
                """);
        }
        Masquerading = true;
    }

    /// <summary>True after <see cref="MasqueradeAtNodes"/>: nodes start without owner hooks.</summary>
    public bool Masquerading { get; private set; }

    public static string NodeV4(int i) => string.Create(CultureInfo.InvariantCulture, $"10.62.{i}.2");

    /// <summary>The topology with <paramref name="nodeCount"/> nodes on a <paramref name="store"/> (`redis` or `etcd`) on the router.</summary>
    public static ClusterTopology Create(int nodeCount, string store = "redis", int extraClients = 0)
    {
        var created = new List<NetNs>();
        try
        {
            NetNs router = Add(created, NetNs.Create("c6r"));
            NetNs client = Add(created, NetNs.Create("c6c"));
            var nodes = new List<NetNs>();
            for (int i = 1; i <= nodeCount; i++)
            {
                nodes.Add(Add(created, NetNs.Create("c6n" + i.ToString(CultureInfo.InvariantCulture))));
            }
            var extra = new List<NetNs>();
            for (int j = 1; j <= extraClients; j++)
            {
                extra.Add(Add(created, NetNs.Create("c6x" + j.ToString(CultureInfo.InvariantCulture))));
            }
            var t = new ClusterTopology(router, client, nodes, extra);
            t._namespaces.AddRange(created);
            NetNs.ConnectVeth(router, "vc", ["10.61.0.1/24"], client, "veth0", ["10.61.0.2/24"]);
            client.Ip("route", "add", "default", "via", "10.61.0.1");
            for (int i = 1; i <= nodeCount; i++)
            {
                string net = string.Create(CultureInfo.InvariantCulture, $"10.62.{i}");
                NetNs.ConnectVeth(router, "vn" + i.ToString(CultureInfo.InvariantCulture), [net + ".1/24"], nodes[i - 1], "veth0", [net + ".2/24"]);
                nodes[i - 1].Ip("route", "add", "default", "via", net + ".1");
                Sysctl(nodes[i - 1], "net/ipv4/ip_forward", "1");
                Sysctl(nodes[i - 1], "net/ipv4/conf/all/rp_filter", "0");
                Sysctl(nodes[i - 1], "net/ipv4/conf/default/rp_filter", "0");
            }
            for (int j = 1; j <= extraClients; j++)
            {
                string net = string.Create(CultureInfo.InvariantCulture, $"10.63.{j}");
                NetNs.ConnectVeth(router, "vx" + j.ToString(CultureInfo.InvariantCulture), [net + ".1/24"], extra[j - 1], "veth0", [net + ".2/24"]);
                extra[j - 1].Ip("route", "add", "default", "via", net + ".1");
            }
            router.Ip("addr", "add", StoreBind + "/32", "dev", "lo");
            router.Ip("addr", "add", ServiceV4 + "/32", "dev", "lo");
            Sysctl(router, "net/ipv4/ip_forward", "1");
            Sysctl(router, "net/ipv4/conf/all/rp_filter", "0");
            if (store == "etcd")
            {
                t.Etcd = EtcdServer.StartNew(router, StoreBind);
            }
            else
            {
                t.Redis = RedisServer.StartNew(router, StoreBind);
            }
            return t;
        }
        catch
        {
            foreach (NetNs ns in created)
            {
                ns.Dispose();
            }
            throw;
        }
    }

    private static NetNs Add(List<NetNs> list, NetNs ns)
    {
        list.Add(ns);
        return ns;
    }

    private static void Sysctl(NetNs ns, string key, string value) =>
        Command.Run("ip", ["netns", "exec", ns.Name, Binaries.Find("tee"), "/proc/sys/" + key], standardInput: value + "\n");

    /// <summary>Starts (or restarts) node <paramref name="i"/> (1-based).</summary>
    public JvpnPeer StartNode(int i)
    {
        string ip = Binaries.Find("ip");
        var jumping = new Dictionary<string, string>
        {
            ["NodeId"] = "node-" + i.ToString(CultureInfo.InvariantCulture),
            ["Store"] = StoreUrl,
            ["StorePasswordFile"] = StorePasswordFile,
            ["AdvertiseEndpoint"] = NodeV4(i) + ":" + Port.ToString(CultureInfo.InvariantCulture),
        };
        if (!Masquerading)
        {
            jumping["OwnerUp"] = $"{ip} -n {Router.Name} route replace %a via {NodeV4(i)}";
            jumping["OwnerDown"] = $"{ip} -n {Router.Name} route del %a via {NodeV4(i)}";
        }
        var config = new TunnelConfig(ServerKey.PrivateKey, ["10.77.0.1/24"],
            [new TunnelPeerConfig(ClientKey.PublicKey, [ClientInnerV4 + "/32"]),
                .. ExtraClientKeys.Select((k, j) => new TunnelPeerConfig(k.PublicKey, [ExtraClientInnerV4(j + 1) + "/32"]))],
            ListenPort: Port,
            Jumping: jumping);
        JvpnPeer node = JvpnPeer.Start(NodeNamespaces[i - 1], config, ProcessEnvironment);
        if (_nodes.Remove(i, out JvpnPeer? old))
        {
            old.Dispose();
        }
        _nodes[i] = node;
        return node;
    }

    public JvpnPeer Node(int i) => _nodes[i];

    /// <summary>The client knows every node: the first as Endpoint, the others in [Jumping] Endpoints.</summary>
    public JvpnPeer StartClient()
    {
        string extra = string.Join(", ", Enumerable.Range(2, NodeNamespaces.Count - 1).Select(i => NodeV4(i) + ":" + Port.ToString(CultureInfo.InvariantCulture)));
        var jumping = new Dictionary<string, string>();
        if (extra.Length > 0)
        {
            jumping["Endpoints"] = extra;
        }
        var config = new TunnelConfig(ClientKey.PrivateKey, [ClientInnerV4 + "/24"],
            [new TunnelPeerConfig(ServerKey.PublicKey, ["10.77.0.0/24", "10.99.0.0/24"], NodeV4(1) + ":" + Port.ToString(CultureInfo.InvariantCulture), PersistentKeepalive: 1)],
            Jumping: jumping);
        ClientPeer = JvpnPeer.Start(Client, config, ProcessEnvironment);
        return ClientPeer;
    }

    /// <summary>
    /// Starts extra client <paramref name="j"/> (1-based) toward node 1, the other nodes as failover endpoints;
    /// the caller disposes it (a stop sends TERMINATE, a start a fresh HELLO: control traffic on demand).
    /// </summary>
    public JvpnPeer StartExtraClient(int j)
    {
        var jumping = new Dictionary<string, string>();
        string extra = string.Join(", ", Enumerable.Range(2, NodeNamespaces.Count - 1).Select(i => NodeV4(i) + ":" + Port.ToString(CultureInfo.InvariantCulture)));
        if (extra.Length > 0)
        {
            jumping["Endpoints"] = extra;
        }
        var config = new TunnelConfig(ExtraClientKeys[j - 1].PrivateKey, [ExtraClientInnerV4(j) + "/24"],
            [new TunnelPeerConfig(ServerKey.PublicKey, ["10.77.0.0/24", "10.99.0.0/24"], NodeV4(1) + ":" + Port.ToString(CultureInfo.InvariantCulture), PersistentKeepalive: 1)],
            Jumping: jumping);
        return JvpnPeer.Start(ExtraClientNamespaces[j - 1], config);
    }

    /// <summary>`jvpn cluster status --json` against the topology's store, from the router namespace.</summary>
    public string ClusterStatusJson()
    {
        CommandResult r = default!;
        // A cold `jvpn cluster status` opens its gRPC channel and authenticates within the 1 s operation timeout;
        // on the shared 2-vCPU machine under load (load average 30-40) that first call alone has missed it while
        // the nodes' own store calls went through. A store that is really away fails all three attempts.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            r = Router.TryExec(Binaries.Find("env"), [StoreAccess.PasswordVariable + "=" + StorePassword, Binaries.Dotnet(), Binaries.JvpnDll, "cluster", "status", "--store", DirectStoreUrl, "--json"], TimeSpan.FromSeconds(20));
            if (r.ExitCode == 0 || !r.StandardError.Contains("is unreachable", StringComparison.Ordinal))
            {
                break;
            }
        }
        Assert.True(r.ExitCode == 0, $"{r.CommandLine}: {r.StandardError}");
        return r.StandardOutput;
    }

    /// <summary>`jvpn cluster drain NODE --wait` against the topology's store, from the router namespace.</summary>
    public CommandResult ClusterDrain(string node) =>
        Router.TryExec(Binaries.Find("env"), [StoreAccess.PasswordVariable + "=" + StorePassword, Binaries.Dotnet(), Binaries.JvpnDll, "cluster", "drain", node, "--store", StoreUrl, "--wait", "--timeout", "15"], TimeSpan.FromSeconds(30));

    /// <summary>The audit events a running jvpn has buffered (`jvpn events`).</summary>
    public static string Events(JvpnPeer peer)
    {
        CommandResult r = peer.Run("events", peer.InterfaceName);
        return r.StandardOutput;
    }

    public string Describe() =>
        string.Join("\n", _nodes.Values.Select(n => n.Describe()).Append(ClientPeer?.Describe() ?? ""));

    public void Dispose()
    {
        ClientPeer?.Dispose();
        foreach (JvpnPeer n in _nodes.Values)
        {
            n.Dispose();
        }
        StoreProxy?.Dispose();
        Redis?.Dispose();
        Etcd?.Dispose();
        for (int i = _namespaces.Count - 1; i >= 0; i--)
        {
            _namespaces[i].Dispose();
        }
    }
}
