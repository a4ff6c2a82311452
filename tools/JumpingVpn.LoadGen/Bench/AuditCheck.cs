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

    public static Result Read(string path)
    {
        var versions = new Dictionary<string, List<ulong>>(StringComparer.Ordinal);
        long gaps = 0, lines = 0, changes = 0;
        int operatorTerminated = 0;
        if (!File.Exists(path))
        {
            return new Result(0, 0, 0, 0, 0, 0);
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is string line)
        {
            if (line.Length == 0)
            {
                continue;
            }
            lines++;
            using JsonDocument doc = JsonDocument.Parse(line);
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
}
