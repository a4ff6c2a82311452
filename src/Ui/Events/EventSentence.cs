using System.Globalization;
using System.Text.Json;
using JumpingVpn.Ui.Tunnel.Timeline;

namespace JumpingVpn.Ui.Events;

/// <summary>
/// One audit line (docs/session-spec.md §6.2, the PATH_DECISION trail of docs/paths.md) as a sentence and a kind the
/// Events page filters on (docs/ui.md "Events"): "wlan0 lost → moved to cell0 in 58 ms", not raw JSON.
/// Kinds: switch, path, session, cluster, security, gap, other.
/// </summary>
public static class EventSentence
{
    /// <summary>The kind and sentence of <paramref name="e"/>; an unknown event type reads as its name in words.</summary>
    public static (string Kind, string Text) Render(JsonElement e)
    {
        string type = Str(e, "event_type");
        switch (type)
        {
            case "PATH_DECISION":
                return PathDecision(e);
            case "REATTACH_ATTEMPT":
                return ("session", $"reattaching{Via(e)} ({Words(Str(e, "switch_reason"))}{Attempt(e)})");
            case "REATTACH_RESULT" when Str(e, "status") == "SUCCESS":
                return ("switch", Str(e, "from_interface") is { Length: > 0 } from && e.TryGetProperty("gap_ms", out _)
                    ? SwitchSentence.Describe(from, Str(e, "interface"), Str(e, "switch_reason"), Num(e, "gap_ms")) + " (server confirmed)"
                    : $"reattached{Via(e)}{Latency(e)}");
            case "REATTACH_RESULT":
                return ("session", $"reattach{Via(e)} refused: {Words(Str(e, "reason_code"))}");
            case "TRANSPORT_SWITCH":
                return ("switch", $"server moved the session from {Str(e, "previous_transport")} to {Str(e, "new_transport")} ({Words(Str(e, "switch_reason"))})");
            case "TRANSPORT_SWITCH_DENIED":
                return ("switch", $"switch refused: {Words(Str(e, "reason_code"))}, retry in {SwitchSentence.Duration(Num(e, "retry_after_ms"))}");
            case "TRANSPORT_ATTACHED":
                return ("session", $"session bound to {Str(e, "remote")}");
            case "TRANSPORT_DEAD":
                return ("session", $"no answer from the server for {SwitchSentence.Duration(Num(e, "silent_ms"))}: looking for it");
            case "SESSION_CREATED":
                return ("session", $"session {Str(e, "session_id")} created");
            case "SESSION_ESTABLISHED":
                return ("session", $"session {Str(e, "session_id")} established");
            case "SESSION_REPLACED":
                return ("session", $"new session {Str(e, "session_id")} replaced {Str(e, "previous_session_id")}");
            case "SESSION_REFUSED":
                return ("session", $"the server refused a session ({Words(Str(e, "reason_code"))}): plain WireGuard roaming");
            case "STATE_CHANGE":
                return ("session", $"session {Words(Str(e, "previous_state"))} → {Words(Str(e, "new_state"))} ({Words(Str(e, "reason_code"))})");
            case "SESSION_TERMINATED":
                return ("session", Str(e, "reason_code") is { Length: > 0 } why ? $"session ended ({Words(why)})" : "session ended");
            case "SERVER_FAILOVER":
                return ("cluster", $"server {Str(e, "previous_endpoint")} silent → trying {Str(e, "new_endpoint")} ({Words(Str(e, "detail_code"))})");
            case "SESSION_MOVED":
                return ("cluster", $"session moved from node {Str(e, "previous_owner_node_id")} to node {Str(e, "owner_node_id")}");
            case "SESSION_OWNER_ACQUIRED":
                return ("cluster", $"node {Str(e, "owner_node_id")} took the session");
            case "REBIND_HINT_SENT":
                return ("session", $"client seen at {Str(e, "observed")}: asked it to confirm the new address");
            case "SECURITY_EVENT":
                return ("security", $"security: {Words(Str(e, "violation_type"))}");
            case "CONTROL_FLOOD_SUPPRESSED":
                return ("security", "control flood suppressed");
            case "AUDIT_GAP":
                return ("gap", $"{Num(e, "dropped_count")} event(s) were missed (the daemon keeps the most recent only)");
            default:
                if (type.StartsWith("SESSION_OWNER_", StringComparison.Ordinal) || type is "SESSION_FENCED" or "SESSION_DRAINED")
                {
                    return ("cluster", Words(type));
                }
                return ("other", type.Length == 0 ? "event without a type" : Words(type));
        }
    }

    private static (string Kind, string Text) PathDecision(JsonElement e)
    {
        string iface = Str(e, "interface");
        string from = Str(e, "from_interface");
        string reason = Str(e, "reason_code");
        string detail = Str(e, "detail");
        string because = detail.Length > 0 ? $" ({detail})" : reason.Length > 0 ? $" ({Words(reason)})" : "";
        return Str(e, "decision") switch
        {
            "switched" => ("switch", SwitchSentence.Describe(from, iface, reason, GapOf(detail))),
            "switch" => ("switch", from.Length > 0 ? $"switching from {from} to {iface}{because}" : $"switching to {iface}{because}"),
            "switch_refused" => ("switch", $"the server refused the move to {iface}{because}"),
            "switch_deferred" => ("switch", $"move to {iface} deferred{because}"),
            "switch_timeout" => ("switch", $"move to {iface} not answered: deciding again{because}"),
            "path_added" => ("path", $"{iface} appeared{because}"),
            "path_removed" => ("path", $"{iface} went away{because}"),
            "path_alive" => ("path", $"{iface} answers{because}"),
            "path_lossy" => ("path", $"{iface} is losing packets{because}"),
            "path_dead" => ("path", $"{iface} stopped answering{because}"),
            "active_suspect" => ("path", $"{iface} (carrying the tunnel) went quiet: checking{because}"),
            "active_suspect_end" => ("path", $"{iface} answers again{because}"),
            "use" => ("path", $"using {iface}{because}"),
            "path_restored" => ("path", $"{iface} carries the tunnel again{because}"),
            string other => ("path", $"{Words(other)} on {iface}{because}"),
        };
    }

    /// <summary>The gap of a <c>switched</c> decision, whose detail is <c>gap_ms=N</c>.</summary>
    private static long GapOf(string detail)
    {
        const string Key = "gap_ms=";
        int at = detail.IndexOf(Key, StringComparison.Ordinal);
        if (at < 0)
        {
            return 0;
        }
        int start = at + Key.Length;
        int end = start;
        while (end < detail.Length && char.IsAsciiDigit(detail[end]))
        {
            end++;
        }
        return long.TryParse(detail.AsSpan(start, end - start), NumberStyles.None, CultureInfo.InvariantCulture, out long gap) ? gap : 0;
    }

    private static string Via(JsonElement e) => Str(e, "interface") is { Length: > 0 } i ? " on " + i : "";

    private static string Attempt(JsonElement e) => Num(e, "attempt") is > 1 and long n ? $", attempt {n}" : "";

    private static string Latency(JsonElement e) =>
        e.TryGetProperty("switch_latency_ms", out JsonElement v) && v.ValueKind == JsonValueKind.Number ? " in " + SwitchSentence.Duration(v.GetInt64()) : "";

    private static string Words(string wireName) => SwitchSentence.Readable(wireName);

    private static string Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";

    private static long Num(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) ? n : 0;
}
