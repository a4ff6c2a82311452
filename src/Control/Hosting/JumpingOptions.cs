using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Hosting;

/// <summary>`[Jumping] SessionLayer` (docs/sessions.md): which peers run the Jumping session layer, and in which role.</summary>
public enum SessionLayerMode
{
    /// <summary>Peers with an Endpoint are servers this node is a client of; the others are its clients.</summary>
    Auto,

    /// <summary>Every peer is a server this node is a client of.</summary>
    Client,

    /// <summary>Every peer is a client of this node.</summary>
    Server,

    /// <summary>Plain WireGuard: no session layer, no client paths.</summary>
    Off,
}

/// <summary>`[Jumping] Paths` (docs/paths.md): whether a client keeps one socket per usable interface.</summary>
public enum PathsMode
{
    Auto,
    On,
    Off,
}

/// <summary>`[Jumping] AuditLog` with its rotation (docs/sessions.md): where the audit JSON Lines go.</summary>
public sealed record AuditLogOptions(string Path, long MaxBytes, int Files)
{
    public const long DefaultMaxBytes = 16L << 20;
    public const int DefaultFiles = 5;
}

/// <summary>
/// Cluster mode (docs/cluster.md): the store in force, with NodeTtl and the access settings, the owner hooks, and
/// the client-facing `ip:port` this node publishes in its heartbeat (`[Jumping] AdvertiseEndpoint`; empty: none,
/// since the UDP socket listens on the wildcard address).
/// </summary>
public sealed record ClusterOptions(StoreUrl Store, string? OwnerUp, string? OwnerDown, string AdvertiseEndpoint = "");

/// <summary>
/// The whole `[Jumping]` section, typed (docs/configuration.md §2). <see cref="JumpingOptionsParser"/>
/// builds it once when a config is loaded for `jvpn up`; every bad value has already been reported there as
/// a <see cref="ConfigException"/> naming file, line and key, so nothing downstream falls back to a default.
/// </summary>
public sealed record JumpingOptions
{
    /// <summary>The config the options were read from: its peers, name and the lines of its keys.</summary>
    public required TunnelConfig Config { get; init; }

    public SessionLayerMode SessionLayer { get; init; } = SessionLayerMode.Auto;

    public PathsMode Paths { get; init; } = PathsMode.Auto;

    /// <summary>`Interfaces = wlan0, wwan0`: the client's path interfaces in priority order; empty means all, by route metric.</summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>`Endpoints = HOST:PORT, ...`: more nodes of the single server's cluster, tried in order (not yet
    /// resolved); null when the key is absent (an empty list still turns client failover on).</summary>
    public IReadOnlyList<ConfigEndpoint>? Endpoints { get; init; }

    /// <summary>`NodeId`, or MACHINE/INTERFACE when not set.</summary>
    public required string NodeId { get; init; }

    /// <summary>Null for a single server (no `Store` key and no `--store`).</summary>
    public ClusterOptions? Cluster { get; init; }

    /// <summary>Null when no `AuditLog` (or `AuditFile`) is set.</summary>
    public AuditLogOptions? AuditLog { get; init; }

    /// <summary>`Metrics` (or `MetricsListen`): the loopback address the Prometheus endpoint serves on; null for none.</summary>
    public string? Metrics { get; init; }

    /// <summary>`KillSwitch = on`: block everything outside the tunnel while it runs and after a crash (docs/platform.md
    /// §4.8); accepted only for a full tunnel.</summary>
    public bool KillSwitch { get; init; }

    /// <summary>`KillSwitchAllowLan = on`: the kill switch lets traffic reach the private subnets directly connected to
    /// the path interfaces (DNS excepted; docs/platform.md §4.8 "Allow LAN").</summary>
    public bool KillSwitchAllowLan { get; init; }

    /// <summary>Most receive threads `ReceiveThreads` accepts (one SO_REUSEPORT socket each).</summary>
    public const int MaxReceiveThreads = 16;

    /// <summary>`ReceiveThreads = N`: receive threads on the listen port, each with its own SO_REUSEPORT socket
    /// (docs/threads.md "Receive threads"); null when absent: <see cref="DefaultReceiveThreads"/>.</summary>
    public int? ReceiveThreads { get; init; }

    /// <summary>
    /// Without `ReceiveThreads`: a server (no [Peer] has an Endpoint, so it only answers) gets one receive thread
    /// per core up to 4, a client one (its traffic is one peer's, which one thread opens in order, and its path
    /// sockets are polled by that thread). docs/performance.md "Parallelism" says why 4.
    /// </summary>
    public int DefaultReceiveThreads(int processors)
    {
        foreach (PeerSection p in Config.Peers)
        {
            if (p.Endpoint is not null)
            {
                return 1;
            }
        }
        return Math.Clamp(processors, 1, 4);
    }

    /// <summary>The session policy: docs/design.md §3 defaults, the `Profile` preset, then the explicit policy keys.</summary>
    public required SessionPolicy Policy { get; init; }

    /// <summary>An error about one of these keys after load (a resolve or bind failure at start), located like a load error.</summary>
    public ConfigException Error(string key, string problem, Exception? innerException = null) => Config.JumpingError(key, problem, innerException);
}
