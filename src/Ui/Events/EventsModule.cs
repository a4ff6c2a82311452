using System.Globalization;
using System.Text;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Ui.Events;

/// <summary>
/// The Events page's endpoints (docs/ui.md "Events"): the tunnels to pick from, a tunnel's audit events after a cursor
/// as sentences (<c>GET /api/events/{name}?cursor=N</c>), and its daemon log as JSON (<c>/log</c>) or as a file to
/// save (<c>/log.txt</c>).
/// </summary>
public sealed class EventsModule : IUiModule
{
    /// <summary>Log lines a request returns at most (the page shows the tail).</summary>
    public const int MaxLogLines = 2000;

    private readonly ITunnelDirectory _directory;
    private readonly string? _socketDirectory;

    /// <param name="socketDirectory">Where the UAPI sockets are; null for the system's (tests pass a temp directory).</param>
    public EventsModule(ITunnelDirectory directory, string? socketDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        _directory = directory;
        _socketDirectory = socketDirectory;
    }

    public string Name => "events";

    public void Map(IEndpointRouteBuilder routes)
    {
        // The list is the collection itself, not a literal beside {name}: every name, `tunnels` included, is a tunnel.
        routes.MapGet("/api/events", () =>
        {
            var tunnels = new List<EventTunnel>();
            foreach (TunnelEntry t in _directory.List())
            {
                tunnels.Add(new EventTunnel(t.Name, t.State.ToString().ToLowerInvariant()));
            }
            return Results.Json(tunnels);
        });
        routes.MapGet("/api/events/{name}", (string name, HttpRequest request) => Events(name, request.Query["cursor"]));
        routes.MapGet("/api/events/{name}/log", (string name) =>
        {
            if (Find(name) is null)
            {
                return UnknownTunnel(name);
            }
            var lines = new List<LogLineView>();
            foreach (TunnelLogLine l in _directory.Log(name, MaxLogLines))
            {
                lines.Add(new LogLineView(l.Time, l.Text));
            }
            return Results.Json(lines);
        });
        routes.MapGet("/api/events/{name}/log.txt", (string name) =>
        {
            if (Find(name) is null)
            {
                return UnknownTunnel(name);
            }
            var sb = new StringBuilder();
            foreach (TunnelLogLine l in _directory.Log(name, MaxLogLines))
            {
                sb.Append(l.Time.ToString("yyyy-MM-dd HH:mm:ss.fff zzz", CultureInfo.InvariantCulture)).Append("  ").Append(l.Text).Append('\n');
            }
            return Results.File(Encoding.UTF8.GetBytes(sb.ToString()), "text/plain; charset=utf-8", name + ".log");
        });
    }

    private IResult Events(string name, string? cursorText)
    {
        if (Find(name) is not { } tunnel)
        {
            return UnknownTunnel(name);
        }
        long cursor = 0;
        if (!string.IsNullOrEmpty(cursorText)
            && (!long.TryParse(cursorText, NumberStyles.Integer, CultureInfo.InvariantCulture, out cursor) || cursor < 0))
        {
            return Results.Json(new { error = $"cursor must be a non-negative number, not `{cursorText}`" }, statusCode: StatusCodes.Status400BadRequest);
        }
        if (tunnel.State != TunnelState.Active)
        {
            return Results.Json(new EventsPage(cursor, false,
                $"{tunnel.Name} is {tunnel.State.ToString().ToLowerInvariant()}: the running daemon keeps its events; activate it to see new ones", []));
        }
        try
        {
            (List<EventView> events, long next) = AuditReader.Read(tunnel.InterfaceName, cursor, _socketDirectory);
            return Results.Json(new EventsPage(next, true, null, events));
        }
        catch (UapiException e)
        {
            return Results.Json(new EventsPage(cursor, false, $"{tunnel.InterfaceName} does not answer: {e.Message}", []));
        }
    }

    private TunnelEntry? Find(string name)
    {
        foreach (TunnelEntry t in _directory.List())
        {
            if (string.Equals(t.Name, name, StringComparison.Ordinal))
            {
                return t;
            }
        }
        return null;
    }

    private static IResult UnknownTunnel(string name) =>
        Results.Json(new { error = $"no tunnel named `{name}`: pick one on the Tunnels page" }, statusCode: StatusCodes.Status404NotFound);
}
