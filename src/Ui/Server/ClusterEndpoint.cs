using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// <c>GET /api/server/cluster?tunnel=NAME</c>: the cluster view (docs/ui.md "Server mode") when the server config
/// names a store (<c>[Jumping] Store</c>): store health, and every node with its node epoch, liveness, endpoint,
/// draining flag and sessions, computed exactly as <c>jvpn cluster status</c> computes them
/// (<see cref="ClusterStatusReader"/>: two heartbeat readings NodeTtl apart). That reading is a
/// <see cref="ClusterWatch"/>'s, in the background, one per server tunnel with a store: the request returns its
/// latest round at once with <c>ageMs</c>, or <c>pending</c> while the first round (about NodeTtl) runs.
/// </summary>
internal sealed class ClusterEndpoint(ServerTunnels tunnels, Func<StoreUrl, ISessionStore> openStore, Action<TimeSpan>? wait, TimeProvider time)
    : IDisposable
{
    internal sealed record NodeItem(string NodeId, ulong Epoch, ulong Beat, bool Alive, bool Draining, string Endpoint, int Sessions);

    /// <param name="Pending">The first reading of this store is still running (it takes about NodeTtl).</param>
    /// <param name="AgeMs">How long ago the reading shown ended; null when nothing was read.</param>
    internal sealed record ClusterView(bool Configured, string? Store, bool StoreUp, double LatencyMs, long NodeTtlMs,
        IReadOnlyList<NodeItem> Nodes, int Sessions, int Malformed, string? Problem, bool Pending = false, long? AgeMs = null);

    private readonly Dictionary<string, ClusterWatch> _watches = new(StringComparer.Ordinal);
    private bool _disposed;

    private static ClusterView NotConfigured(string? problem) => new(false, null, false, 0, 0, [], 0, 0, problem);

    internal static ClusterView Down(string store, long nodeTtl, string problem) => new(true, store, false, 0, nodeTtl, [], 0, 0, problem);

    public IResult Handle(HttpRequest request)
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
            Forget(tunnel.Name);
            return Results.Json(NotConfigured(null));
        }
        if (!StoreUrl.TryParse(text.Trim(), out StoreUrl url, out string? problem))
        {
            Forget(tunnel.Name);
            return Results.Json(NotConfigured($"[Jumping] Store in {tunnel.ConfigPath}: {problem}"));
        }
        if (url.IsMemory)
        {
            Forget(tunnel.Name);
            return Results.Json(new ClusterView(true, "memory", true, 0, url.NodeTtlMs, [], 0, 0,
                "the in-memory store lives inside the server process: one node, no cluster to show"));
        }
        try
        {
            url = url with { Access = StoreAccess.Resolve(url, config.Jumping, config.SourcePath, Environment.GetEnvironmentVariable) };
        }
        catch (ConfigException e)
        {
            Forget(tunnel.Name);
            return Results.Json(Down(url.ToString(), url.NodeTtlMs, e.Message));
        }
        long nodeTtl = ClusterStatusReader.NodeTtlOf(config, url);
        ClusterWatch watch = Watch(tunnel.Name, url, nodeTtl);
        if (watch.Latest() is not { } reading)
        {
            return Results.Json(new ClusterView(true, url.ToString(), false, 0, nodeTtl, [], 0, 0, null, Pending: true));
        }
        long age = Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - reading.ReadAtMs);
        return Results.Json(reading.View with { AgeMs = age });
    }

    /// <summary>The tunnel's running reader for this store, or a new one when there is none, it stopped (idle), or
    /// the config now names another store (compared by its text and access settings) or NodeTtl.</summary>
    private ClusterWatch Watch(string tunnel, StoreUrl url, long nodeTtl)
    {
        lock (_watches)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_watches.TryGetValue(tunnel, out ClusterWatch? w) && !w.Stopped && w.Url.ToString() == url.ToString() && w.Url.Access == url.Access && w.NodeTtlMs == nodeTtl)
            {
                return w;
            }
            w?.Dispose();
            w = new ClusterWatch(url, nodeTtl, openStore, wait, time);
            _watches[tunnel] = w;
            return w;
        }
    }

    private void Forget(string tunnel)
    {
        lock (_watches)
        {
            if (_watches.Remove(tunnel, out ClusterWatch? w))
            {
                w.Dispose();
            }
        }
    }

    public void Dispose()
    {
        lock (_watches)
        {
            _disposed = true;
            foreach (ClusterWatch w in _watches.Values)
            {
                w.Dispose();
            }
            _watches.Clear();
        }
    }
}
