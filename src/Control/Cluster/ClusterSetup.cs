using JumpingVpn.Control.Config;
using JumpingVpn.Control.Metrics;
using JumpingVpn.Control.Policy;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Brings a server into the cluster at `jvpn up` (docs/cluster.md): reads `[Jumping] Store`, `Lease`,
/// `OwnerUp`, `OwnerDown` (or the `--store` override), opens the store, publishes this node's peers in the
/// store's peer registry and adds the registry's peers it lacks, and returns what the session layer needs.
/// Without a Store key nothing here runs: a single server keeps its sessions in its own in-memory session
/// table (session-spec §5.2.1: single node, per-session lock, no ownership layer).
/// </summary>
public static class ClusterSetup
{
    /// <summary>The store URL in force: the command-line override, else `[Jumping] Store`, else null (single server).</summary>
    public static StoreUrl? ResolveStore(TunnelConfig config, string? overrideUrl)
    {
        ArgumentNullException.ThrowIfNull(config);
        string? text = overrideUrl ?? (config.Jumping.TryGetValue("store", out string? s) ? s : null);
        if (text is null)
        {
            return null;
        }
        if (!StoreUrl.TryParse(text, out StoreUrl url, out string? problem))
        {
            throw new ConfigException(overrideUrl is null ? config.SourcePath : null, null, overrideUrl is null ? "Store" : "--store", problem!);
        }
        if (config.Jumping.TryGetValue("lease", out string? lease))
        {
            if (!SessionPolicyParser.TryParseDuration(lease, out long ms, out string? p) || ms <= 2 * ClusterCoordinator.DriftMarginMs)
            {
                throw new ConfigException(config.SourcePath, null, "Lease", p ?? "must be longer than 1s (twice the 500ms drift margin)");
            }
            url = url with { LeaseMs = ms };
        }
        return url;
    }

    /// <summary>
    /// Opens the store and the coordinator. The lease must be shorter than transport_lost_ttl
    /// (session-spec §5.2.3): otherwise a session would end before another node could take it over.
    /// </summary>
    public static ClusterCoordinator Start(StoreUrl url, TunnelConfig config, SessionPolicy policy, string nodeId, WireGuardDevice device,
        IReadOnlySet<Peer> clientRole, Dictionary<Peer, IReadOnlyList<IpPrefix>> innerPrefixes, int listenPort, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(clientRole);
        ArgumentNullException.ThrowIfNull(innerPrefixes);
        if (url.LeaseMs >= policy.TransportLostTtlMs)
        {
            throw new ConfigException(config.SourcePath, null, "Lease",
                $"the ownership lease ({SessionPolicyParser.FormatDuration(url.LeaseMs)}) must be shorter than transport_lost_ttl ({SessionPolicyParser.FormatDuration(policy.TransportLostTtlMs)}), or no node could take a session over before it ends");
        }
        ISessionStore store = url.Open();
        var cluster = new ClusterCoordinator(store, nodeId, url.LeaseMs, logger) { NodeDetail = "udp " + listenPort.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (Peer peer in device.Peers)
        {
            if (!clientRole.Contains(peer))
            {
                innerPrefixes[peer] = [.. device.AllowedIps.PrefixesOf(peer)];
                store.PutPeer(new RegisteredPeer(Convert.ToBase64String(peer.PublicKey), string.Join(',', innerPrefixes[peer])));
            }
        }
        foreach (RegisteredPeer registered in store.ListPeers())
        {
            byte[] key;
            try
            {
                key = Convert.FromBase64String(registered.PublicKey);
            }
            catch (FormatException)
            {
                continue;
            }
            if (key.Length != 32 || device.FindPeer(key) is not null)
            {
                continue;
            }
            // A client provisioned on another node: same identity key, so it can fail over to us. Its
            // preshared key (a secret) is not in the registry; such peers work without one.
            Peer added = device.AddPeer(key, new byte[32]);
            var prefixes = new List<IpPrefix>();
            foreach (string p in registered.AllowedIps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (IpPrefix.TryParse(p, out IpPrefix? prefix))
                {
                    prefixes.Add(prefix.Value);
                }
            }
            innerPrefixes[added] = prefixes;
        }
        logger.LogInformation("cluster: node {Node} on store {Store}, lease {Lease} ms (renewed every {Renew} ms); store {Up}",
            nodeId, store.Description, url.LeaseMs, cluster.RenewEveryMs, store.Ping(out _) ? "reachable" : "NOT reachable yet (retrying)");
        return cluster;
    }

    /// <summary>Store health and ownership in the Prometheus endpoint.</summary>
    public static void BindMetrics(JvpnMetrics metrics, ClusterCoordinator cluster)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(cluster);
        metrics.Registry.AddGauge("jvpn_store_up", "1 when the session store answered the last health probe, else 0").AddCallback(() => cluster.StoreUp ? 1 : 0);
        metrics.Registry.AddGauge("jvpn_store_latency_microseconds", "round trip of the last store health probe").AddCallback(() => (long)(cluster.StoreLatencyMs * 1000));
        metrics.Registry.AddGauge("jvpn_cluster_leases", "sessions whose ownership lease this node holds").AddCallback(() => cluster.LeaseCount);
        var ops = metrics.Registry.AddCounter("jvpn_store_operations_total", "session store operations by result", "result");
        ops.AddCallback(() => cluster.CasCommitted, "ok");
        ops.AddCallback(() => cluster.CasLost, "lost");
        ops.AddCallback(() => cluster.StoreUnavailableCount, "unavailable");
    }
}
