using System.Globalization;

namespace JumpingVpn.Tests.Packaging;

/// <summary>The [Service] settings of a systemd unit file that the packaged-flow tests reproduce, read
/// from the installed file so the tests run what the unit runs. Settings the tests cannot reproduce are
/// listed in <see cref="PackagedServerFlow"/> and <see cref="PackagedManagerTests"/>.</summary>
internal sealed record ServiceUnit(
    IReadOnlyList<string> ExecStart,
    string User,
    string? Group,
    IReadOnlyList<string> AmbientCapabilities,
    IReadOnlyList<string> BoundingSet,
    bool NoNewPrivileges,
    IReadOnlyList<string> RuntimeDirectories,
    string RuntimeDirectoryMode,
    string? StateDirectory,
    string StateDirectoryMode,
    string LogsDirectory)
{
    /// <summary>The one RuntimeDirectory= of a unit that names exactly one.</summary>
    public string RuntimeDirectory => Assert.Single(RuntimeDirectories);

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
        // Quoting, specifiers and prefixes (-, @, +, !) would need systemd's full rules; the units use none.
        Assert.DoesNotContain('"', exec);
        Assert.DoesNotContain('\'', exec);
        Assert.DoesNotContain('%', exec);
        Assert.StartsWith("/", exec, StringComparison.Ordinal);
        return new ServiceUnit(
            Words(exec),
            Get("User"),
            values.TryGetValue("Group", out string? group) ? group : null,
            Words(Get("AmbientCapabilities")),
            Words(Get("CapabilityBoundingSet")),
            values.TryGetValue("NoNewPrivileges", out string? nnp) && nnp is "yes" or "true" or "1",
            Words(Get("RuntimeDirectory")),
            values.TryGetValue("RuntimeDirectoryMode", out string? mode) ? mode : "0755",
            values.TryGetValue("StateDirectory", out string? state) ? state : null,
            values.TryGetValue("StateDirectoryMode", out string? stateMode) ? stateMode : "0755",
            Get("LogsDirectory"));
    }

    /// <summary>The capability bit mask of <paramref name="caps"/>, as /proc/PID/status shows CapEff and CapBnd.</summary>
    public static ulong Mask(IReadOnlyList<string> caps)
    {
        ulong mask = 0;
        foreach (string cap in caps)
        {
            mask |= 1UL << CapabilityNumber(cap);
        }
        return mask;
    }

    /// <summary>CAP_NET_ADMIN CAP_NET_BIND_SERVICE -> +net_admin,+net_bind_service (setpriv's spelling).</summary>
    public static string SetprivCaps(IReadOnlyList<string> caps) =>
        string.Join(',', caps.Select(c => "+" + c["CAP_".Length..].ToLowerInvariant()));

    /// <summary>The process's <paramref name="name"/> line of /proc/PID/status (Uid, Gid, CapEff, ...).</summary>
    public static string StatusField(int pid, string name)
    {
        string status = File.ReadAllText($"/proc/{pid}/status");
        return status.Split('\n').First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim();
    }

    /// <summary>The running process's ids and capabilities are the unit's: ambient caps effective, nothing
    /// else; the bounding set exactly the unit's.</summary>
    public void AssertRunsAs(int pid, string uid, string gid)
    {
        Assert.Equal(uid, StatusField(pid, "Uid").Split('\t')[0]);
        Assert.Equal(gid, StatusField(pid, "Gid").Split('\t')[0]);
        Assert.Equal(Mask(AmbientCapabilities), ulong.Parse(StatusField(pid, "CapEff"), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        Assert.Equal(Mask(BoundingSet), ulong.Parse(StatusField(pid, "CapBnd"), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        Assert.Equal(NoNewPrivileges ? "1" : "0", StatusField(pid, "NoNewPrivs"));
    }

    private static int CapabilityNumber(string cap) => cap switch
    {
        "CAP_CHOWN" => 0,
        "CAP_NET_BIND_SERVICE" => 10,
        "CAP_NET_ADMIN" => 12,
        "CAP_NET_RAW" => 13,
        _ => throw new InvalidOperationException($"the test does not know the number of {cap}; add it"),
    };

    private static string[] Words(string value) => value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
