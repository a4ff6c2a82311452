namespace JumpingVpn.Tests.Packaging;

/// <summary>The [Service] settings of a systemd unit file that the packaged-flow test reproduces, read
/// from the installed file so the test runs what the unit runs. Settings the test cannot reproduce are
/// listed in <see cref="PackagedServerFlow"/>.</summary>
internal sealed record ServiceUnit(
    IReadOnlyList<string> ExecStart,
    string User,
    string Group,
    IReadOnlyList<string> AmbientCapabilities,
    IReadOnlyList<string> BoundingSet,
    bool NoNewPrivileges,
    string RuntimeDirectory,
    string RuntimeDirectoryMode,
    string LogsDirectory)
{
    /// <summary>Parses <paramref name="text"/> for instance <paramref name="instance"/> (%i, %I).</summary>
    public static ServiceUnit Parse(string text, string instance)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? section = null;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }
            if (line[0] == '[')
            {
                section = line;
                continue;
            }
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (section == "[Service]" && eq > 0)
            {
                string key = line[..eq].Trim();
                Assert.False(values.ContainsKey(key), $"{key}= appears twice in [Service]; the test reads one value");
                values[key] = line[(eq + 1)..].Trim().Replace("%i", instance, StringComparison.Ordinal).Replace("%I", instance, StringComparison.Ordinal);
            }
        }
        string Get(string key) => values.TryGetValue(key, out string? v) ? v : throw new InvalidOperationException($"the unit has no {key}=");
        string exec = Get("ExecStart");
        // Quoting, specifiers and prefixes (-, @, +, !) would need systemd's full rules; the unit uses none.
        Assert.DoesNotContain('"', exec);
        Assert.DoesNotContain('\'', exec);
        Assert.DoesNotContain('%', exec);
        Assert.StartsWith("/", exec, StringComparison.Ordinal);
        return new ServiceUnit(
            Words(exec),
            Get("User"),
            Get("Group"),
            Words(Get("AmbientCapabilities")),
            Words(Get("CapabilityBoundingSet")),
            values.TryGetValue("NoNewPrivileges", out string? nnp) && nnp is "yes" or "true" or "1",
            Get("RuntimeDirectory"),
            values.TryGetValue("RuntimeDirectoryMode", out string? mode) ? mode : "0755",
            Get("LogsDirectory"));
    }

    private static string[] Words(string value) => value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
