using System.Globalization;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Control.Uapi.Transport;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// <c>GET /api/server/sessions?tunnel=NAME&amp;search=TEXT&amp;page=N&amp;size=M</c>: one page of the running server's
/// sessions, asked of the interface itself (<c>jvpn_sessions=1</c> over its UAPI socket, as <c>jvpn status</c>
/// asks), so the browser only ever holds a page however many sessions there are (docs/ui.md "Server mode").
/// Pages count from 1; size defaults to 50, at most 500.
/// </summary>
internal sealed class SessionsEndpoint(ServerTunnels tunnels, string? socketDirectory)
{
    internal sealed record SessionItem(string PublicKey, string SessionId, string State, ulong Version, string Inner,
        string Endpoint, long LastSeenMs, string Owner);

    internal sealed record SessionsPage(string Tunnel, int Total, int Matched, int Page, int Size, int Pages, IReadOnlyList<SessionItem> Rows);

    public IResult Handle(HttpRequest request)
    {
        TunnelEntry? tunnel = tunnels.Find(request.Query["tunnel"], out IResult? refusal);
        if (tunnel is null)
        {
            return refusal!;
        }
        string search = request.Query["search"].ToString();
        if (!TryNumber(request.Query["page"], 1, out long page) || !TryNumber(request.Query["size"], SessionPageRequest.DefaultLimit, out long size))
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, "page and size must be whole numbers (page counts from 1)");
        }
        if (page < 1)
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, string.Create(CultureInfo.InvariantCulture, $"page {page} does not exist: pages count from 1"));
        }
        long offset = (page - 1) * Math.Clamp(size, 1, SessionPageRequest.MaxLimit);
        string? problem = SessionPageRequest.Problem(search, offset, size);
        if (problem is not null)
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, size is < 1 or > SessionPageRequest.MaxLimit
                ? string.Create(CultureInfo.InvariantCulture, $"size {size} is outside 1..{SessionPageRequest.MaxLimit}")
                : problem);
        }
        var query = new SessionPageRequest { Search = search, Offset = (int)offset, Limit = (int)size };
        string reply;
        try
        {
            if (!UapiTransports.For(socketDirectory).Exists(tunnel.InterfaceName))
            {
                return NotRunning(tunnel);
            }
            reply = UapiClient.Request(tunnel.InterfaceName, query.Format(), socketDirectory);
        }
        catch (UapiInterfaceNotRunningException)
        {
            return NotRunning(tunnel);
        }
        catch (UapiException e)
        {
            return ServerModule.Refuse(StatusCodes.Status502BadGateway, $"interface {tunnel.InterfaceName} did not answer the session listing: {e.Message}");
        }
        if (!SessionPageReply.TryParse(reply, out SessionPageReply? answer))
        {
            return ServerModule.Refuse(StatusCodes.Status502BadGateway,
                $"interface {tunnel.InterfaceName} did not answer the session listing (a jvpn older than this UI?); restart the tunnel with this version");
        }
        var rows = new List<SessionItem>(answer!.Rows.Count);
        foreach (SessionPageRow r in answer.Rows)
        {
            rows.Add(new SessionItem(KeyText(r.PublicKeyHex), r.SessionId, r.State, r.StateVersion, r.InnerAddresses, r.Endpoint, r.LastSeenMs, r.OwnerNode));
        }
        int pages = (int)Math.Max(1, (answer.Matched + size - 1) / size);
        return Results.Json(new SessionsPage(tunnel.Name, answer.Total, answer.Matched, (int)page, (int)size, pages, rows));
    }

    private static IResult NotRunning(TunnelEntry tunnel) =>
        ServerModule.Refuse(StatusCodes.Status409Conflict, $"tunnel {tunnel.Name} is not running; activate it to see its sessions");

    private static bool TryNumber(Microsoft.Extensions.Primitives.StringValues value, long fallback, out long number)
    {
        number = fallback;
        string? text = value.Count == 0 ? null : value.ToString();
        return string.IsNullOrEmpty(text)
            || (text.Length <= 12 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number));
    }

    /// <summary>The key as WireGuard tools show it (base64); the hex from the wire if it is not a key.</summary>
    private static string KeyText(string hex)
    {
        try
        {
            byte[] key = Convert.FromHexString(hex);
            return key.Length == 32 ? WireGuardKey.ToBase64(key) : hex;
        }
        catch (FormatException)
        {
            return hex;
        }
    }
}
