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
/// table (docs/session-spec.md §5.2.1: single node, per-session lock, no ownership layer).
/// </summary>
public static class ClusterSetup
{
    /// <summary>The store URL in force (the command-line override, else `[Jumping] Store`, else null: single server), with its access settings.</summary>
    public static StoreUrl? ResolveStore(TunnelConfig config, string? overrideUrl, Func<string, string?>? environment = null)
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
        // Hook templates are split into argv words here, so a bad one stops `jvpn up` before it changes anything.
        foreach ((string key, string name) in (ReadOnlySpan<(string, string)>)[("ownerup", "OwnerUp"), ("ownerdown", "OwnerDown")])
        {
            if (config.Jumping.TryGetValue(key, out string? template) && !string.IsNullOrWhiteSpace(template))
            {
                try
                {
                    _ = OwnerRouteHooks.ParseTemplate(template, name);
                }
                catch (ConfigException ex)
                {
                    throw new ConfigException(config.SourcePath, null, name, ex.Problem ?? ex.Message);
                }
            }
        }
        return url.IsMemory ? url : url with { Access = StoreAccess.Resolve(url, config.Jumping, config.SourcePath, environment ?? Environment.GetEnvironmentVariable) };
    }

    /// <summary>
    /// Opens the store and the coordinator. The lease must be shorter than transport_lost_ttl
    /// (docs/session-spec.md §5.2.3): otherwise a session would end before another node could take it over.
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
        if (StoreRecordCheck.NodeIdProblem(nodeId) is { } badNode)
        {
            throw new ConfigException(config.SourcePath, null, "NodeId", badNode + " (other nodes would refuse this node's records)");
        }
        ISessionStore store = url.Open();
        if (store is RedisSessionStore { AuthenticationProblem: { } refused })
        {
            store.Dispose();
            throw new Platform.PlatformException($"store {url} refused authentication: {refused}");
        }
        var cluster = new ClusterCoordinator(store, nodeId, url.LeaseMs, logger) { NodeDetail = "udp " + listenPort.ToString(System.Globalization.CultureInfo.InvariantCulture) };
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
        logger.LogInformation("cluster: node {Node} on store {Store}, lease {Lease} ms (renewed every {Renew} ms); store {Up}",
            nodeId, store.Description, url.LeaseMs, cluster.RenewEveryMs, store.Ping(out _) ? "reachable" : "NOT reachable yet (retrying)");
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
        metrics.Registry.AddGauge("jvpn_cluster_leases", "sessions whose ownership lease this node holds").AddCallback(() => cluster.LeaseCount);
        var ops = metrics.Registry.AddCounter("jvpn_store_operations_total", "session store operations by result", "result");
        ops.AddCallback(() => cluster.CasCommitted, "ok");
        ops.AddCallback(() => cluster.CasLost, "lost");
        ops.AddCallback(() => cluster.StoreUnavailableCount, "unavailable");
        metrics.Registry.AddCounter("jvpn_store_rejected_records_total", "session records, registry entries and replies from the store that failed validation and were dropped")
            .AddCallback(() => cluster.RejectedRecords);
    }
}
