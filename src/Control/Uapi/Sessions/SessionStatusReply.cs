using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// The <c>jvpn_session=1</c> UAPI extension (docs/design.md §7): the request, the payload the interface
/// answers with (one <see cref="SessionStatusRecord"/> block per peer) and its decoder. Both ends use this
/// type, so the wire text has one definition.
/// </summary>
public static class SessionStatusReply
{
    /// <summary>The request line; the request ends with a blank line.</summary>
    public const string Operation = "jvpn_session=1";

    /// <summary>The reply payload (without the errno line) for <paramref name="records"/>.</summary>
    public static string Format(IEnumerable<SessionStatusRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var sb = new StringBuilder();
        foreach (SessionStatusRecord r in records)
        {
            r.Write(sb);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Decodes a complete reply (payload, <c>errno=0</c>) into records by public key (hex). Unknown keys are
    /// skipped so newer peers can add some; a reply without <c>errno=0</c>, or with a malformed value for a
    /// known key, is refused (false, empty result).
    /// </summary>
    public static bool TryParse(string reply, out Dictionary<string, SessionStatusRecord> sessions)
    {
        ArgumentNullException.ThrowIfNull(reply);
        sessions = new Dictionary<string, SessionStatusRecord>(StringComparer.Ordinal);
        if (!reply.Contains("errno=0", StringComparison.Ordinal))
        {
            return false;
        }
        Builder? current = null;
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith("errno=", StringComparison.Ordinal))
            {
                continue;
            }
            string key = line[..eq];
            string value = line[(eq + 1)..];
            if (key == "public_key")
            {
                if (current is not null)
                {
                    sessions[current.Record.PublicKeyHex] = current.Build();
                }
                current = new Builder(value);
            }
            else if (current is not null && !current.Apply(key, value))
            {
                sessions.Clear();
                return false;
            }
        }
        if (current is not null)
        {
            sessions[current.Record.PublicKeyHex] = current.Build();
        }
        return true;
    }

    /// <summary>Accumulates one block; repeated path and path_switch lines each add an entry.</summary>
    private sealed class Builder(string publicKeyHex)
    {
        private readonly List<PathStatus> _paths = [];
        private readonly List<PathSwitchStatus> _switches = [];

        public SessionStatusRecord Record { get; private set; } = new() { PublicKeyHex = publicKeyHex };

        public SessionStatusRecord Build() => Record with { Paths = _paths, RecentSwitches = _switches };

        public bool Apply(string key, string value)
        {
            var inv = CultureInfo.InvariantCulture;
            switch (key)
            {
                case "role":
                    Record = Record with { Role = value };
                    return true;
                case "session_layer":
                    Record = Record with { SessionLayer = value };
                    return true;
                case "session_id":
                    Record = Record with { SessionId = value };
                    return true;
                case "state":
                    Record = Record with { State = value };
                    return true;
                case "bound_endpoint":
                    Record = Record with { BoundEndpoint = value };
                    return true;
                case "last_reason":
                    Record = Record with { LastReason = value };
                    return true;
                case "state_version" when ulong.TryParse(value, NumberStyles.Integer, inv, out ulong v):
                    Record = Record with { StateVersion = v };
                    return true;
                case "bound_at_version" when ulong.TryParse(value, NumberStyles.Integer, inv, out ulong v):
                    Record = Record with { BoundAtVersion = v };
                    return true;
                case "last_transition_age_ms" when long.TryParse(value, NumberStyles.Integer, inv, out long v):
                    Record = Record with { LastTransitionAgeMs = v };
                    return true;
                case "switches" when long.TryParse(value, NumberStyles.Integer, inv, out long v):
                    Record = Record with { Switches = v };
                    return true;
                case "rtt_ms" when long.TryParse(value, NumberStyles.Integer, inv, out long v):
                    Record = Record with { RttMs = v };
                    return true;
                case "path_switches_last_minute" when int.TryParse(value, NumberStyles.Integer, inv, out int v):
                    Record = Record with { SwitchesLastMinute = v };
                    return true;
                case "path_suspect_episodes" when long.TryParse(value, NumberStyles.Integer, inv, out long v):
                    Record = Record with { SuspectEpisodes = v };
                    return true;
                case PathStatus.Key when PathStatus.TryParse(value, out PathStatus p):
                    _paths.Add(p);
                    return true;
                case PathSwitchStatus.Key when PathSwitchStatus.TryParse(value, out PathSwitchStatus s):
                    _switches.Add(s);
                    return true;
                case "state_version" or "bound_at_version" or "last_transition_age_ms" or "switches" or "rtt_ms"
                    or "path_switches_last_minute" or "path_suspect_episodes" or PathStatus.Key or PathSwitchStatus.Key:
                    return false; // a known key with a value that does not parse
                default:
                    return true; // a key a newer peer added
            }
        }
    }
}
