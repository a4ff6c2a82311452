using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// <c>GET /api/server/cluster?tunnel=NAME</c>: the cluster view (docs/ui.md "Server mode") when the server config
/// names a store (<c>[Jumping] Store</c>): store health, and every node with its node epoch, liveness, endpoint,
/// draining flag and sessions, computed exactly as <c>jvpn cluster status</c> computes them
/// (<see cref="ClusterStatusReader"/>: two heartbeat readings NodeTtl apart, so an answer takes about NodeTtl).
/// The store is opened with the config's own access settings for each request and closed after it.
/// </summary>
internal sealed class ClusterEndpoint(ServerTunnels tunnels, Func<StoreUrl, ISessionStore> openStore, Action<TimeSpan> wait)
{
    internal sealed record NodeItem(string NodeId, ulong Epoch, ulong Beat, bool Alive, bool Draining, string Endpoint, int Sessions);

    internal sealed record ClusterView(bool Configured, string? Store, bool StoreUp, double LatencyMs, long NodeTtlMs,
        IReadOnlyList<NodeItem> Nodes, int Sessions, int Malformed, string? Problem);

    private static ClusterView NotConfigured(string? problem) => new(false, null, false, 0, 0, [], 0, 0, problem);

    public async Task<IResult> HandleAsync(HttpRequest request)
    {
        TunnelEntry? tunnel = tunnels.Find(request.Query["tunnel"], out IResult? refusal);
        if (tunnel is null)
        {
            return refusal!;
        }
        TunnelConfig config;
        try
        {
            config = TunnelConfigParser.ParseFile(tunnel.ConfigPath);
        }
        catch (ConfigException e)
        {
            return ServerModule.Refuse(StatusCodes.Status409Conflict, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ServerModule.Refuse(StatusCodes.Status409Conflict, $"cannot read {tunnel.ConfigPath}: {e.Message}");
        }
        if (!config.Jumping.TryGetValue("store", out string? text) || string.IsNullOrWhiteSpace(text))
        {
            return Results.Json(NotConfigured(null));
        }
        if (!StoreUrl.TryParse(text.Trim(), out StoreUrl url, out string? problem))
        {
            return Results.Json(NotConfigured($"[Jumping] Store in {tunnel.ConfigPath}: {problem}"));
        }
        if (url.IsMemory)
        {
            return Results.Json(new ClusterView(true, "memory", true, 0, url.NodeTtlMs, [], 0, 0,
                "the in-memory store lives inside the server process: one node, no cluster to show"));
        }
        try
        {
            url = url with { Access = StoreAccess.Resolve(url, config.Jumping, config.SourcePath, Environment.GetEnvironmentVariable) };
        }
        catch (ConfigException e)
        {
            return Results.Json(new ClusterView(true, url.ToString(), false, 0, url.NodeTtlMs, [], 0, 0, e.Message));
        }
        long nodeTtl = ClusterStatusReader.NodeTtlOf(config, url);
        // Opening a store and the NodeTtl wait between the readings block: off the request thread.
        return await Task.Run(() => Read(url, nodeTtl), request.HttpContext.RequestAborted);
    }

    private IResult Read(StoreUrl url, long nodeTtl)
    {
        ISessionStore store;
        try
        {
            store = openStore(url);
        }
#pragma warning disable CA1031 // Any failure to connect (client libraries throw their own types) is "store down", shown as such.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Results.Json(new ClusterView(true, url.ToString(), false, 0, nodeTtl, [], 0, 0, $"cannot open store {url}: {e.Message}"));
        }
        using (store)
        {
            if (store is IStoreAuthentication { AuthenticationProblem: { } refused })
            {
                return Results.Json(new ClusterView(true, url.ToString(), false, 0, nodeTtl, [], 0, 0, $"store {url} refused authentication: {refused}"));
            }
            if (!store.Ping(out _))
            {
                return Results.Json(new ClusterView(true, url.ToString(), false, 0, nodeTtl, [], 0, 0, $"store {url} is unreachable"));
            }
            ClusterStatus? status = ClusterStatusReader.Read(store, nodeTtl, wait);
            if (status is null)
            {
                return Results.Json(new ClusterView(true, url.ToString(), false, 0, nodeTtl, [], 0, 0, $"store {url} stopped answering while reading node heartbeats"));
            }
            var nodes = new List<NodeItem>(status.Nodes.Count);
            foreach (ClusterNodeStatus n in status.Nodes)
            {
                nodes.Add(new NodeItem(n.Node.NodeId, n.Node.NodeEpoch, n.Node.Beat, n.Alive, n.Node.Draining, n.Node.Endpoint, n.Sessions));
            }
            return Results.Json(new ClusterView(true, url.ToString(), status.StoreUp, Math.Round(status.LatencyMs, 2), status.NodeTtlMs,
                nodes, status.Sessions.Count, status.Malformed, null));
        }
    }
}
