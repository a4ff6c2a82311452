using System.Text.Json;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// Reads the server's audit stream (JSON Lines) after a run and checks the versioning invariant of
/// docs/design.md §3: per session, STATE_CHANGE versions are exactly 1, 2, 3, ... (no gap, no duplicate).
/// AUDIT_GAP lines (the bounded pipeline dropped events) are counted separately.
/// </summary>
internal static class AuditCheck
{
    public sealed record Result(int Sessions, int SessionsWithVersionGaps, long StateChanges, long AuditGapLines, long Lines, int OperatorTerminated);

    public static Result Read(string path) => Read([path]);

    /// <summary>
    /// The same check over the audit logs of several servers together (the nodes of a cluster: a session
    /// that moved has its first versions in one node's log and the later ones in another's).
    /// </summary>
    public static Result Read(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var versions = new Dictionary<string, List<ulong>>(StringComparer.Ordinal);
        long gaps = 0, lines = 0, changes = 0;
        int operatorTerminated = 0;
        foreach (string path in paths)
        {
            if (File.Exists(path))
            {
                ReadOne(path, versions, ref gaps, ref lines, ref changes, ref operatorTerminated);
            }
        }
        int withGaps = 0;
        foreach (List<ulong> list in versions.Values)
        {
            list.Sort();
            for (int i = 0; i < list.Count; i++)
            {
                if (list[i] != (ulong)i + 1)
                {
                    withGaps++;
                    break;
                }
            }
        }
        return new Result(versions.Count, withGaps, changes, gaps, lines, operatorTerminated);
    }

    private static bool TryParse(string line, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonDocument? doc)
    {
        try
        {
            doc = JsonDocument.Parse(line);
            return true;
        }
        catch (JsonException)
        {
            doc = null;
            return false;
        }
    }

    private static void ReadOne(string path, Dictionary<string, List<ulong>> versions, ref long gaps, ref long lines, ref long changes, ref int operatorTerminated)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is string line)
        {
            if (line.Length == 0)
            {
                continue;
            }
            lines++;
            if (!TryParse(line, out JsonDocument? doc))
            {
                continue; // a line torn by a SIGKILLed writer
            }
            using JsonDocument owned = doc;
            JsonElement root = doc.RootElement;
            string? type = root.TryGetProperty("event_type", out JsonElement t) ? t.GetString() : null;
            if (type == "AUDIT_GAP")
            {
                gaps++;
            }
            else if (type is "STATE_CHANGE" or "SESSION_CREATED" && root.TryGetProperty("session_id", out JsonElement id)
                && root.TryGetProperty("state_version", out JsonElement v))
            {
                string key = id.GetString() ?? string.Empty;
                if (!versions.TryGetValue(key, out List<ulong>? list))
                {
                    versions[key] = list = [];
                }
                if (type == "STATE_CHANGE")
                {
                    list.Add(v.GetUInt64());
                    changes++;
                    if (root.TryGetProperty("reason_code", out JsonElement reason) && reason.GetString() == "OPERATOR_TERMINATED")
                    {
                        operatorTerminated++;
                    }
                }
            }
        }
    }
}
