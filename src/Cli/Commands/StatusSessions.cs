using System.Globalization;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn status NAME --sessions [--search TEXT] [--page N] [--json]`: one page of a server's sessions, searched
/// and paged by the interface itself (jvpn_sessions=1, docs/design.md §7 "Session listing"), so a server with
/// 100 000 sessions answers with 50 rows, not a wall of text.
/// </summary>
internal static class StatusSessions
{
    public const int PageSize = 50;

    public static int Run(string? name, string? search, int page, bool json)
    {
        if (name is null)
        {
            Console.Error.WriteLine("jvpn status: --sessions needs the interface name, e.g. jvpn status wg0 --sessions");
            return ExitCodes.Usage;
        }
        if (page < 1)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"jvpn status: --page {page} does not exist: pages count from 1"));
            return ExitCodes.Usage;
        }
        long offset = (long)(page - 1) * PageSize;
        string? problem = SessionPageRequest.Problem(search, offset, PageSize);
        if (problem is not null)
        {
            Console.Error.WriteLine("jvpn status: " + problem);
            return ExitCodes.Usage;
        }
        var request = new SessionPageRequest { Search = search ?? "", Offset = (int)offset, Limit = PageSize };
        string reply = UapiClient.Request(name, request.Format());
        if (!SessionPageReply.TryParse(reply, out SessionPageReply? answer))
        {
            Console.Error.WriteLine($"jvpn status: interface {name} does not list sessions (not a jvpn interface, or one older than this jvpn); `jvpn status {name}` shows its peers");
            return ExitCodes.Failure;
        }
        Console.Out.Write(json ? FormatJson(name, answer!, page) : FormatText(name, answer!, page, request.Search));
        return ExitCodes.Ok;
    }

    private static int Pages(SessionPageReply a) => Math.Max(1, (a.Matched + PageSize - 1) / PageSize);

    private static string Key(string hex) =>
        hex.Length == 64 && WireGuardKey.TryParseHex(hex, out byte[]? key) ? WireGuardKey.ToBase64(key) : hex;

    internal static string FormatText(string name, SessionPageReply a, int page, string search)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        string scope = search.Length == 0
            ? string.Create(inv, $"{a.Total} sessions")
            : string.Create(inv, $"{a.Matched} of {a.Total} sessions match \"{search}\"");
        int first = a.Rows.Count == 0 ? 0 : a.Offset + 1;
        sb.Append(inv, $"interface: {name}: {scope}; page {page} of {Pages(a)} (rows {first}-{a.Offset + a.Rows.Count})\n");
        if (a.Rows.Count > 0)
        {
            sb.Append(inv, $"  {"peer",-44}  {"session",-32}  {"state",-10}  {"version",7}  {"inner",-18}  {"endpoint",-21}  {"last seen",9}  owner\n");
        }
        foreach (SessionPageRow r in a.Rows)
        {
            string seen = r.LastSeenMs < 0 ? "never" : string.Create(inv, $"{r.LastSeenMs / 1000.0:0.0} s");
            sb.Append(inv, $"  {Key(r.PublicKeyHex),-44}  {r.SessionId,-32}  {r.State,-10}  {r.StateVersion,7}  {Dash(r.InnerAddresses),-18}  {Dash(r.Endpoint),-21}  {seen,9}  {Dash(r.OwnerNode)}\n");
        }
        if (page < Pages(a))
        {
            sb.Append(inv, $"next page: jvpn status {name} --sessions{(search.Length == 0 ? "" : " --search '" + search + "'")} --page {page + 1}\n");
        }
        return sb.ToString();
    }

    private static string Dash(string s) => s.Length == 0 ? "-" : s;

    internal static string FormatJson(string name, SessionPageReply a, int page)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("interface", name);
            w.WriteNumber("total", a.Total);
            w.WriteNumber("matched", a.Matched);
            w.WriteNumber("page", page);
            w.WriteNumber("pages", Pages(a));
            w.WriteNumber("page_size", PageSize);
            w.WriteStartArray("sessions");
            foreach (SessionPageRow r in a.Rows)
            {
                w.WriteStartObject();
                w.WriteString("public_key", Key(r.PublicKeyHex));
                w.WriteString("session_id", r.SessionId);
                w.WriteString("state", r.State);
                w.WriteNumber("state_version", r.StateVersion);
                w.WriteString("inner_addresses", r.InnerAddresses);
                w.WriteString("endpoint", r.Endpoint);
                w.WriteNumber("last_seen_ms", r.LastSeenMs);
                w.WriteString("owner_node", r.OwnerNode);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
