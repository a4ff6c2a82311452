using System.Globalization;
using System.Text.Json;
using JumpingVpn.Control.Uapi;

namespace JumpingVpn.Ui.Events;

/// <summary>
/// Reads a running interface's audit events the way <c>jvpn events</c> does (docs/ui.md "Events"): <c>jvpn_events=1</c>
/// with a cursor over UAPI, JSON lines then <c>cursor=N</c>. A daemon that restarted numbers from 0 again: a reply
/// whose cursor is below the one asked for is read again from 0, so the new daemon's first events are not skipped.
/// </summary>
internal static class AuditReader
{
    /// <summary>Events after <paramref name="cursor"/> and the next cursor; throws <see cref="UapiException"/> when the interface does not answer.</summary>
    public static (List<EventView> Events, long Next) Read(string interfaceName, long cursor, string? socketDirectory)
    {
        (List<EventView> events, long next, bool refused) = ReadOnce(interfaceName, cursor, socketDirectory);
        if (refused)
        {
            throw new UapiException($"{interfaceName} is not a jvpn interface (no session layer events)");
        }
        if (next < cursor && cursor > 0)
        {
            (events, next, _) = ReadOnce(interfaceName, 0, socketDirectory);
        }
        return (events, next);
    }

    private static (List<EventView> Events, long Next, bool Refused) ReadOnce(string interfaceName, long cursor, string? socketDirectory)
    {
        string reply = UapiClient.Request(interfaceName, $"jvpn_events=1\ncursor={cursor.ToString(CultureInfo.InvariantCulture)}\n\n", socketDirectory);
        if (reply.Contains("errno=-", StringComparison.Ordinal))
        {
            return ([], cursor, true);
        }
        var events = new List<EventView>();
        long next = cursor;
        foreach (string line in reply.Split('\n'))
        {
            if (line.StartsWith("cursor=", StringComparison.Ordinal))
            {
                _ = long.TryParse(line.AsSpan(7), NumberStyles.Integer, CultureInfo.InvariantCulture, out next);
            }
            else if (line.StartsWith('{'))
            {
                events.Add(ToView(line));
            }
        }
        return (events, next, false);
    }

    /// <summary>A raw line as the page shows it; a line that is not JSON is kept raw with kind "other".</summary>
    internal static EventView ToView(string line)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement e = doc.RootElement;
            (string kind, string text) = EventSentence.Render(e);
            long? ts = e.TryGetProperty("ts_ms", out JsonElement t) && t.TryGetInt64(out long ms) ? ms : null;
            string type = e.TryGetProperty("event_type", out JsonElement et) && et.ValueKind == JsonValueKind.String ? et.GetString() ?? "" : "";
            string? session = e.TryGetProperty("session_id", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            return new EventView(ts, type, kind, session, text, line);
        }
        catch (JsonException)
        {
            return new EventView(null, "", "other", null, "unreadable event line", line);
        }
    }
}
