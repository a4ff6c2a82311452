using JumpingVpn.Control.Cluster;
using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// Server mode of the UI (docs/ui.md "Server mode"), page <c>/server.html</c>: for a tunnel that is a server, its
/// sessions one page at a time (searched and paged by the server itself, <c>jvpn_sessions=1</c>), adding a peer
/// with its client config as text, download and QR code, and the cluster view when the config names a store.
/// Every refusal is a 4xx with <c>{"error": "..."}</c> naming the problem and the fix.
/// </summary>
public sealed class ServerModule : IUiModule, IDisposable
{
    private readonly ServerTunnels _tunnels;
    private readonly SessionsEndpoint _sessions;
    private readonly AddPeerEndpoint _addPeer;
    private readonly ClusterEndpoint _cluster;

    /// <param name="socketDirectory">Where the interfaces' UAPI sockets are (tests); null for the system's.</param>
    /// <param name="openStore">Opens the store a config names (tests pass one that returns a prepared store); null: <see cref="StoreUrl.Open"/>.</param>
    /// <param name="wait">Waits between the cluster view's two heartbeat readings (NodeTtl); null: a wait the module's
    /// disposal cuts short.</param>
    /// <param name="time">The clock the cluster view's ages are read from; null: the system's.</param>
    public ServerModule(ITunnelDirectory tunnels, string? socketDirectory = null, Func<StoreUrl, ISessionStore>? openStore = null,
        Action<TimeSpan>? wait = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(tunnels);
        _tunnels = new ServerTunnels(tunnels);
        _sessions = new SessionsEndpoint(_tunnels, socketDirectory);
        _addPeer = new AddPeerEndpoint(_tunnels, socketDirectory);
        _cluster = new ClusterEndpoint(_tunnels, openStore ?? (url => url.Open()), wait, time ?? TimeProvider.System);
    }

    public string Name => "server";

    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/server/tunnels", _tunnels.List);
        routes.MapGet("/api/server/sessions", _sessions.Handle);
        routes.MapPost("/api/server/peers", _addPeer.HandleAsync);
        routes.MapGet("/api/server/cluster", _cluster.Handle);
    }

    /// <summary>Stops the cluster view's background readers (with the UI host).</summary>
    public void Dispose() => _cluster.Dispose();

    /// <summary>A refusal the page shows as is: <c>{"error": message}</c> with <paramref name="status"/>.</summary>
    internal static IResult Refuse(int status, string message) => Results.Json(new ErrorBody(message), statusCode: status);

    internal sealed record ErrorBody(string Error);
}
