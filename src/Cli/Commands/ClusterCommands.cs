using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn cluster status`: what the shared session store says about the cluster (docs/cluster.md): every node's
/// heartbeat record (node epoch, beat, endpoint, draining) with its liveness, the store's health, and each live
/// session with its owner (node, node epoch), owner_epoch and state, summed per node. Liveness is judged as the
/// nodes judge it (docs/cluster.md "Node liveness"): the heartbeats are read twice, NodeTtl apart, and a node
/// whose beat did not change in between is dead. Reads the store directly, so it works from any machine that
/// reaches the store, also while nodes are down.
/// </summary>
internal static class ClusterCommands
{
    public static Command Create()
    {
        var store = new Option<string?>("--store") { Description = "Store URL, e.g. redis://jvpn@10.0.0.5:6379/0?prefix=jvpn (default: [Jumping] Store of --config); the password comes from --config's StorePasswordFile or $JVPN_STORE_PASSWORD" };
        var config = new Option<string?>("--config") { Description = "A server config whose [Jumping] Store names the store" };
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };
        var status = new Command("status", "Nodes (epoch, liveness), store health and sessions per node of a server cluster.") { store, config, json };
        status.SetAction(parse => Status(parse.GetValue(store), parse.GetValue(config), parse.GetValue(json)));
        return new Command("cluster", "Inspect and maintain a cluster of jvpn servers sharing a session store.") { status, CreateDrain(store, config) };
    }

    /// <summary>
    /// `jvpn cluster drain NODE`: planned maintenance (docs/cluster.md "Drain"). Checks that NODE is alive (two
    /// heartbeat readings NodeTtl apart, as `jvpn cluster status`), then writes a drain request for NODE into the
    /// store; the node sees it within one poll (250 ms), tells each client which node to go to
    /// (SESSION_MOVE), releases its sessions, and exits once they moved (at most about 5 s). `--wait` follows
    /// the sessions in the store until every one has another owner and prints each move.
    /// </summary>
    private static Command CreateDrain(Option<string?> store, Option<string?> config)
    {
        var node = new Argument<string>("NODE") { Description = "The node id to drain (as `jvpn cluster status` lists it)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until every session of NODE is owned by another node and print the moves" };
        var timeout = new Option<int>("--timeout") { Description = "With --wait: give up after this many seconds", DefaultValueFactory = _ => 30 };
        var drain = new Command("drain", "Move every session off a live node to the other nodes, then stop that node (planned maintenance).") { node, store, config, wait, timeout };
        drain.SetAction(parse => Drain(parse.GetValue(node)!, parse.GetValue(store), parse.GetValue(config), parse.GetValue(wait), parse.GetValue(timeout)));
        return drain;
    }

    /// <summary>How long a drain request waits in the store for its node before it expires.</summary>
    private const long DrainRequestTtlMs = 60_000;

    private static int Drain(string nodeId, string? storeArg, string? configArg, bool wait, int timeoutSeconds)
    {
        int rc = Open("drain", storeArg, configArg, out ISessionStore? opened, out StoreUrl url, out TunnelConfig? cfg);
        if (opened is null)
        {
            return rc;
        }
        using ISessionStore store = opened;
        // Only a live node reads drain requests: judge liveness as the nodes do (docs/cluster.md "Node liveness"),
        // from two readings of the heartbeats NodeTtl apart, so a stopped node is refused instead of waiting
        // for a request nobody takes.
        long nodeTtl = ClusterStatusReader.NodeTtlOf(cfg, url);
        if (ClusterStatusReader.ReadLiveness(store, nodeTtl, Thread.Sleep) is not { } judged)
        {
            Console.Error.WriteLine($"jvpn cluster drain: store {url} did not answer the node listing; nothing changed, try again");
            return ExitCodes.Failure;
        }
        judged.RemoveAll(n => StoreRecordCheck.NodeProblem(n.Node) is not null);
        List<ClusterNodeInfo> live = [.. judged.Where(n => n.Alive).Select(n => n.Node)];
        string liveList = live.Count == 0 ? "(none)" : string.Join(", ", live.Select(n => n.NodeId));
        int found = judged.FindIndex(n => string.Equals(n.Node.NodeId, nodeId, StringComparison.Ordinal));
        if (found < 0)
        {
            Console.Error.WriteLine($"jvpn cluster drain: '{nodeId}' is not a live node of store {url}; live nodes: {liveList}");
            return ExitCodes.Failure;
        }
        (ClusterNodeInfo Node, bool Alive) target = judged[found];
        if (!target.Alive)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"jvpn cluster drain: '{nodeId}' is not alive (its heartbeat did not advance within NodeTtl {nodeTtl} ms): nothing to drain, its clients fail over on their own; live nodes: {liveList}"));
            return ExitCodes.Failure;
        }
        if (target.Node.Draining)
        {
            Console.Error.WriteLine($"jvpn cluster drain: '{nodeId}' is already draining; follow it with `jvpn cluster status`");
            return ExitCodes.Failure;
        }
        long start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        List<OwnershipRecord> owned = [.. store.ListSessions().Where(s => StoreRecordCheck.Problem(s) is null
            && string.Equals(s.OwnerNode, nodeId, StringComparison.Ordinal) && !s.Released)];
        if (!store.RequestDrain(nodeId, DrainRequestTtlMs))
        {
            Console.Error.WriteLine($"jvpn cluster drain: store {url} did not take the drain request (unreachable or refused); nothing changed, try again");
            return ExitCodes.Failure;
        }
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"drain requested: node {nodeId} moves its {owned.Count} sessions to the other nodes, then stops"));
        if (!wait)
        {
            return ExitCodes.Ok;
        }
        var pending = owned.ToDictionary(s => s.Id, s => s);
        long deadline = start + Math.Max(1, timeoutSeconds) * 1000L;
        while (pending.Count > 0 && DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() < deadline)
        {
            Thread.Sleep(100);
            foreach (OwnershipRecord before in pending.Values.ToList())
            {
                StoreResult r = store.Read(before.Id);
                long at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - start;
                if (r.Status == StoreStatus.NotFound || r is { Status: StoreStatus.Ok, Current.State: JumpingVpn.Control.Sessions.SessionState.Terminated })
                {
                    Console.WriteLine(string.Create(inv, $"  {before.Id} ended (not moved) after {at} ms"));
                    pending.Remove(before.Id);
                }
                else if (r is { Status: StoreStatus.Ok, Current: { } now } && StoreRecordCheck.Problem(now) is null
                    && !string.Equals(now.OwnerNode, nodeId, StringComparison.Ordinal))
                {
                    Console.WriteLine(string.Create(inv, $"  {before.Id} {nodeId} -> {now.OwnerNode} epoch {before.OwnerEpoch} -> {now.OwnerEpoch} v{before.StateVersion} -> v{now.StateVersion} after {at} ms"));
                    pending.Remove(before.Id);
                }
            }
        }
        if (pending.Count > 0)
        {
            Console.Error.WriteLine(string.Create(inv, $"jvpn cluster drain: {pending.Count} sessions still owned by {nodeId} after {timeoutSeconds} s: {string.Join(", ", pending.Keys)}"));
            return ExitCodes.Failure;
        }
        Console.WriteLine(string.Create(inv, $"all {owned.Count} sessions moved off {nodeId} in {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - start} ms"));
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Opens the store named by --store or --config's [Jumping] Store with the same access settings as `jvpn up`.
    /// Null (and the exit code) after a one-line error naming the problem.
    /// </summary>
    private static int Open(string verb, string? storeArg, string? configArg, out ISessionStore? opened, out StoreUrl url, out TunnelConfig? cfg)
    {
        opened = null;
        url = default!;
        string? text = storeArg;
        cfg = configArg is null ? null : TunnelConfigParser.ParseFile(TunnelConfigParser.ResolveConfigPath(configArg));
        if (text is null && cfg is not null)
        {
            text = cfg.Jumping.TryGetValue("store", out string? s) ? s : throw new ConfigException(cfg.SourcePath, null, "Store", "this config has no [Jumping] Store (a single server has no cluster)");
        }
        if (text is null)
        {
            Console.Error.WriteLine($"jvpn cluster {verb}: name the store with --store URL or --config SERVER.conf");
            return ExitCodes.Usage;
        }
        if (!StoreUrl.TryParse(text, out url, out string? problem))
        {
            throw new ConfigException(null, null, "--store", problem!);
        }
        if (url.IsMemory)
        {
            Console.Error.WriteLine($"jvpn cluster {verb}: the in-memory store lives inside one jvpn process; use `jvpn status` there");
            return ExitCodes.Usage;
        }
        // The same access settings as `jvpn up`: the config's Store* keys, else the environment.
        url = url with { Access = StoreAccess.Resolve(url, cfg?.Jumping ?? new Dictionary<string, string>(), cfg?.SourcePath, Environment.GetEnvironmentVariable) };
        ISessionStore store = url.Open();
        if (store is IStoreAuthentication { AuthenticationProblem: { } refused })
        {
            store.Dispose();
            Console.Error.WriteLine($"jvpn cluster {verb}: store {url} refused authentication: {refused}");
            return ExitCodes.Failure;
        }
        if (!store.Ping(out _))
        {
            store.Dispose();
            Console.Error.WriteLine($"jvpn cluster {verb}: store {url} is unreachable");
            return ExitCodes.Failure;
        }
        opened = store;
        return ExitCodes.Ok;
    }

    /// <summary>The config's [Jumping] NodeTtl when it names a valid one, else the store URL's (its default).</summary>
    private static int Status(string? storeArg, string? configArg, bool json)
    {
        int rc = Open("status", storeArg, configArg, out ISessionStore? opened, out StoreUrl url, out TunnelConfig? cfg);
        if (opened is null)
        {
            return rc;
        }
        using ISessionStore store = opened;
        // Store contents are untrusted (docs/cluster.md): malformed entries are not printed (they could
        // carry terminal escapes), only counted. Node liveness needs two readings NodeTtl apart.
        long nodeTtl = ClusterStatusReader.NodeTtlOf(cfg, url);
        ClusterStatus? status = ClusterStatusReader.Read(store, nodeTtl, Thread.Sleep);
        if (status is null)
        {
            Console.Error.WriteLine($"jvpn cluster status: store {url} stopped answering while reading node heartbeats");
            return ExitCodes.Failure;
        }
        bool up = status.StoreUp;
        double latency = status.LatencyMs;
        IReadOnlyList<OwnershipRecord> sessions = status.Sessions;
        if (status.Malformed > 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"jvpn cluster status: skipped {status.Malformed} malformed store entries"));
        }
        List<(ClusterNodeInfo Node, bool Alive, int Owned)> nodes = [.. status.Nodes.Select(n => (n.Node, n.Alive, n.Sessions))];
        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("store", url.ToString());
            w.WriteBoolean("store_up", up);
            w.WriteNumber("store_latency_ms", Math.Round(latency, 3));
            w.WriteNumber("node_ttl_ms", nodeTtl);
            w.WriteStartArray("nodes");
            foreach ((ClusterNodeInfo n, bool alive, int owned) in nodes)
            {
                w.WriteStartObject();
                w.WriteString("node_id", n.NodeId);
                w.WriteNumber("node_epoch", n.NodeEpoch);
                w.WriteNumber("beat", n.Beat);
                w.WriteString("liveness", alive ? "alive" : "dead");
                w.WriteBoolean("draining", n.Draining);
                w.WriteString("endpoint", n.Endpoint);
                w.WriteNumber("sessions", owned);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("sessions");
            foreach (OwnershipRecord s in sessions)
            {
                w.WriteStartObject();
                w.WriteString("session_id", s.Id.ToString());
                w.WriteString("owner_node_id", s.OwnerNode);
                w.WriteNumber("owner_node_epoch", s.OwnerNodeEpoch);
                w.WriteNumber("owner_epoch", s.OwnerEpoch);
                w.WriteBoolean("released", s.Released);
                w.WriteString("state", JumpingVpn.Control.Sessions.WireNames.Of(s.State));
                w.WriteNumber("state_version", s.StateVersion);
                w.WriteNumber("bound_at_version", s.BoundAtVersion);
                w.WriteString("binding", s.Binding);
                w.WriteString("inner_addresses", s.InnerAddresses);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            Console.WriteLine();
            return ExitCodes.Ok;
        }
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"store: {url} (up, {latency:0.0} ms), NodeTtl {nodeTtl} ms"));
        Console.WriteLine(string.Create(inv, $"nodes: {nodes.Count}"));
        foreach ((ClusterNodeInfo n, bool alive, int owned) in nodes)
        {
            string endpoint = n.Endpoint.Length > 0 ? n.Endpoint : "-";
            Console.WriteLine(string.Create(inv,
                $"  {n.NodeId,-24} epoch {n.NodeEpoch} beat {n.Beat} {(alive ? "alive" : "dead")}{(n.Draining ? " draining" : "")} endpoint {endpoint} sessions {owned}"));
        }
        Console.WriteLine(string.Create(inv, $"sessions: {sessions.Count}"));
        foreach (OwnershipRecord s in sessions)
        {
            Console.WriteLine(string.Create(inv,
                $"  {s.Id} owner {s.OwnerNode} node_epoch {s.OwnerNodeEpoch} epoch {s.OwnerEpoch}{(s.Released ? " released" : "")} {JumpingVpn.Control.Sessions.WireNames.Of(s.State)} v{s.StateVersion} bound_at v{s.BoundAtVersion} {s.Binding} inner {s.InnerAddresses}"));
        }
        return ExitCodes.Ok;
    }
}
