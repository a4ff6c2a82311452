using JumpingVpn.Control.Config;

namespace JumpingVpn.Control.Cluster;

/// <summary>One node as a cluster status shows it: its heartbeat record, whether it is alive, the sessions it owns.</summary>
public sealed record ClusterNodeStatus(ClusterNodeInfo Node, bool Alive, int Sessions);

/// <summary>What <c>jvpn cluster status</c> and the UI's cluster view show (docs/cluster.md "Operations").</summary>
/// <param name="Sessions">The live session records that passed the untrusted-store checks.</param>
/// <param name="Malformed">Store entries skipped because they failed those checks (never shown: they could carry escapes).</param>
public sealed record ClusterStatus(bool StoreUp, double LatencyMs, long NodeTtlMs, IReadOnlyList<ClusterNodeStatus> Nodes,
    IReadOnlyList<OwnershipRecord> Sessions, int Malformed);

/// <summary>
/// Reads a cluster's status from its store the way the nodes judge each other (docs/cluster.md "Node liveness"):
/// the heartbeats twice, NodeTtl apart, a node whose beat did not change in between is dead; then the session
/// records, checked as untrusted input, summed per (node, node epoch). Shared by the CLI and the UI so both say the same.
/// </summary>
public static class ClusterStatusReader
{
    /// <summary>The NodeTtl observers wait between readings: the config's <c>[Jumping] NodeTtl</c>, else the store URL's.</summary>
    public static long NodeTtlOf(TunnelConfig? config, StoreUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return config is not null && config.Jumping.TryGetValue("nodettl", out string? ttlText)
            && Policy.SessionPolicyParser.TryParseDuration(ttlText, out long ttl, out _) && ttl >= ClusterCoordinator.MinNodeTtlMs
            ? ttl : url.NodeTtlMs;
    }

    /// <summary>
    /// Null when the store stopped answering between the two heartbeat readings. <paramref name="wait"/> is called
    /// once with NodeTtl between them (a sleep; tests pass one that advances their clock).
    /// </summary>
    public static ClusterStatus? Read(ISessionStore store, long nodeTtlMs, Action<TimeSpan> wait)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(wait);
        bool up = store.Ping(out double latency);
        if (ReadLiveness(store, nodeTtlMs, wait) is not { } judged)
        {
            return null;
        }
        IReadOnlyList<OwnershipRecord> all = store.ListSessions();
        var sessions = new List<OwnershipRecord>(all.Count);
        foreach (OwnershipRecord s in all)
        {
            if (StoreRecordCheck.Problem(s) is null)
            {
                sessions.Add(s);
            }
        }
        var owned = new Dictionary<(string, ulong), int>();
        foreach (OwnershipRecord s in sessions)
        {
            if (!s.Released)
            {
                owned[(s.OwnerNode, s.OwnerNodeEpoch)] = owned.GetValueOrDefault((s.OwnerNode, s.OwnerNodeEpoch)) + 1;
            }
        }
        var nodes = new List<ClusterNodeStatus>(judged.Count);
        foreach ((ClusterNodeInfo n, bool alive) in judged)
        {
            nodes.Add(new ClusterNodeStatus(n, alive, owned.GetValueOrDefault((n.NodeId, n.NodeEpoch))));
        }
        return new ClusterStatus(up, latency, nodeTtlMs, nodes, sessions, all.Count - sessions.Count);
    }

    /// <summary>
    /// Every node's heartbeat record with its liveness judged as the nodes judge it: two readings NodeTtl apart
    /// (<paramref name="wait"/> between them), a node whose beat did not change is dead. Null when the store did not
    /// answer the second reading.
    /// </summary>
    public static List<(ClusterNodeInfo Node, bool Alive)>? ReadLiveness(ISessionStore store, long nodeTtlMs, Action<TimeSpan> wait)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(wait);
        IReadOnlyList<ClusterNodeInfo> first = store.ListNodes() ?? [];
        wait(TimeSpan.FromMilliseconds(nodeTtlMs));
        IReadOnlyList<ClusterNodeInfo>? second = store.ListNodes();
        if (second is null)
        {
            return null;
        }
        var liveness = new NodeLiveness(nodeTtlMs, ClusterCoordinator.DefaultBeatEveryMs);
        liveness.Observe(first, 0);
        liveness.Observe(second, nodeTtlMs);
        var judged = new List<(ClusterNodeInfo Node, bool Alive)>(second.Count);
        foreach (ClusterNodeInfo n in second)
        {
            judged.Add((n, liveness.Judge(n.NodeId, n.NodeEpoch, nodeTtlMs).Kind == LivenessKind.Alive));
        }
        return judged;
    }
}
