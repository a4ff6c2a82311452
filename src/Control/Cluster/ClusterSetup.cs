using JumpingVpn.Control.Metrics;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Brings a server into the cluster at `jvpn up` (docs/cluster.md): given the store the typed options name
/// (`[Jumping] Store` with `NodeTtl` and the access keys, or the `--store` override), opens it, publishes this node's peers in the
/// store's peer registry and adds the registry's peers it lacks, and returns what the session layer needs.
/// Without a Store key nothing here runs: a single server keeps its sessions in its own in-memory session
/// table (docs/session-spec.md §5.2.1: single node, per-session lock, no ownership layer).
/// </summary>
public static class ClusterSetup
{
    /// <summary>
    /// Opens the store and the coordinator. <paramref name="url"/> and <paramref name="nodeId"/> come from the typed
    /// options (Hosting.JumpingOptionsParser), which already checked NodeTtl against transport_lost_ttl
    /// (docs/session-spec.md §5.2.3) and the node id against what other nodes accept.
    /// </summary>
    public static ClusterCoordinator Start(StoreUrl url, string nodeId, WireGuardDevice device,
        IReadOnlySet<Peer> clientRole, Dictionary<Peer, IReadOnlyList<IpPrefix>> innerPrefixes, string advertiseEndpoint, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(nodeId);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(clientRole);
        ArgumentNullException.ThrowIfNull(innerPrefixes);
        ISessionStore store = url.Open();
        if (store is IStoreAuthentication { AuthenticationProblem: { } refused })
        {
            store.Dispose();
            throw new Platform.PlatformException($"store {url} refused authentication: {refused}");
        }
        var cluster = new ClusterCoordinator(store, nodeId, url.NodeTtlMs, logger) { AdvertiseEndpoint = advertiseEndpoint ?? "" };
        var configured = new List<IpPrefix>();
        foreach (Peer peer in device.Peers)
        {
            if (!clientRole.Contains(peer))
            {
                innerPrefixes[peer] = [.. device.AllowedIps.PrefixesOf(peer)];
                configured.AddRange(innerPrefixes[peer]);
                store.PutPeer(new RegisteredPeer(Convert.ToBase64String(peer.PublicKey), string.Join(',', innerPrefixes[peer])));
            }
        }
        foreach (RegisteredPeer registered in store.ListPeers())
        {
            AddRegistered(registered, configured, device, innerPrefixes, cluster);
        }
        logger.LogInformation("cluster: node {Node} on store {Store}, NodeTtl {Ttl} ms (heartbeat every {Beat} ms, fence margin {Margin} ms); store {Up}",
            nodeId, store.Description, url.NodeTtlMs, cluster.BeatEveryMs, ClusterCoordinator.FenceMarginMs, store.Ping(out _) ? "reachable" : "NOT reachable yet (retrying)");
        return cluster;
    }

    /// <summary>
    /// Adds a client provisioned on another node (same identity key, so it can fail over to us). The entry
    /// is store input (docs/cluster.md "The store is untrusted input"): a malformed one, or one whose
    /// addresses overlap an address a peer of this node's config file routes, is counted and dropped, so
    /// the registry can never take over a configured client's traffic. Its preshared key (a secret) is not
    /// in the registry; such peers work without one.
    /// </summary>
    internal static bool AddRegistered(RegisteredPeer registered, IReadOnlyList<IpPrefix> configured, WireGuardDevice device,
        Dictionary<Peer, IReadOnlyList<IpPrefix>> innerPrefixes, ClusterCoordinator cluster)
    {
        if (StoreRecordCheck.PeerProblem(registered, out List<IpPrefix> prefixes) is { } problem)
        {
            cluster.RejectRecord(problem);
            return false;
        }
        byte[] key = Convert.FromBase64String(registered.PublicKey);
        if (device.FindPeer(key) is not null)
        {
            return false;
        }
        foreach (IpPrefix p in prefixes)
        {
            foreach (IpPrefix own in configured)
            {
                if (p.Address.AddressFamily == own.Address.AddressFamily && (p.Contains(own.Address) || own.Contains(p.Address)))
                {
                    cluster.RejectRecord($"registry peer {StoreRecordCheck.Excerpt(registered.PublicKey)}: {p} overlaps {own}, which a peer of this node's config routes");
                    return false;
                }
            }
        }
        Peer added = device.AddPeer(key, new byte[32]);
        innerPrefixes[added] = prefixes;
        return true;
    }

    /// <summary>Store health and ownership in the Prometheus endpoint.</summary>
    public static void BindMetrics(JvpnMetrics metrics, ClusterCoordinator cluster)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(cluster);
        metrics.Registry.AddGauge("jvpn_store_up", "1 when the session store answered the last health probe, else 0").AddCallback(() => cluster.StoreUp ? 1 : 0);
        metrics.Registry.AddGauge("jvpn_store_latency_microseconds", "round trip of the last store health probe").AddCallback(() => (long)(cluster.StoreLatencyMs * 1000));
        metrics.Registry.AddGauge("jvpn_cluster_owned_sessions", "sessions this node owns in the store").AddCallback(() => cluster.OwnedCount);
        metrics.Registry.AddGauge("jvpn_cluster_node_epoch", "this node's current incarnation (0 before it registered)").AddCallback(() => (long)cluster.NodeEpoch);
        metrics.Registry.AddCounter("jvpn_cluster_fences_total", "times this node fenced itself because no heartbeat succeeded in time").AddCallback(() => cluster.Fences);
        var beats = metrics.Registry.AddCounter("jvpn_cluster_heartbeats_total", "heartbeat writes by result", "result");
        beats.AddCallback(() => cluster.BeatsSucceeded, "ok");
        beats.AddCallback(() => cluster.BeatsFailed, "failed");
        var ops = metrics.Registry.AddCounter("jvpn_store_operations_total", "session store operations by result", "result");
        ops.AddCallback(() => cluster.CasCommitted, "ok");
        ops.AddCallback(() => cluster.CasLost, "lost");
        ops.AddCallback(() => cluster.StoreUnavailableCount, "unavailable");
        var doubts = metrics.Registry.AddCounter("jvpn_store_commits_in_doubt_total", "commits whose store answer was lost, by what the store turned out to hold", "result");
        doubts.AddCallback(() => cluster.DoubtsLanded, "landed");
        doubts.AddCallback(() => cluster.DoubtsNotLanded, "not_landed");
        metrics.Registry.AddCounter("jvpn_store_rejected_records_total", "session records, registry entries and replies from the store that failed validation and were dropped")
            .AddCallback(() => cluster.RejectedRecords);
    }
}
