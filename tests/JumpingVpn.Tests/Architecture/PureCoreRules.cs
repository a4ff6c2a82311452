namespace JumpingVpn.Tests.Architecture;

/// <summary>
/// What the sans-I/O cores may not call (docs/design.md §1): time comes from an injected TimeProvider or a
/// passed-in "now", randomness from an injected source, and threads and sockets belong to the loops.
/// </summary>
internal static class PureCoreRules
{
    /// <summary>The namespaces whose every type is a pure core, unless listed in <see cref="Exceptions"/>.</summary>
    public static readonly string[] Namespaces =
    [
        "JumpingVpn.Tunnel.Device",
        "JumpingVpn.Tunnel.Noise",
        "JumpingVpn.Tunnel.Keys",
        "JumpingVpn.Tunnel.Cookies",
        "JumpingVpn.Tunnel.RateLimiting",
        "JumpingVpn.Tunnel.Timers",
        "JumpingVpn.Tunnel.Time",
        "JumpingVpn.Tunnel.Replay",
        "JumpingVpn.Tunnel.Routing",
        "JumpingVpn.Control.Sessions",
        "JumpingVpn.Control.Paths",
        "JumpingVpn.Control.Frames",
        "JumpingVpn.Control.Policy",
        "JumpingVpn.Control.Jumping.Server",
        "JumpingVpn.Control.Jumping.Client",
        "JumpingVpn.Control.Jumping.PathSwitching",
    ];

    /// <summary>Types inside those namespaces that do I/O on purpose, each with the reason.</summary>
    public static readonly Dictionary<string, string> Exceptions = new(StringComparer.Ordinal)
    {
        ["JumpingVpn.Control.Paths.ClientPaths"] =
            "owns the client's per-interface UDP sockets and reacts to interface events; the path decisions it feeds live in PathManager",
    };

    /// <summary>Forbidden targets: a type (every member) or "Type::Member".</summary>
    private static readonly (string Type, string? Member, string Why)[] Forbidden =
    [
        ("System.Net.Sockets.Socket", null, "sockets belong to the loops and Platform"),
        ("System.Threading.Thread", null, "threads belong to the loops"),
        ("System.DateTime", "get_Now", "read time from the injected TimeProvider or a passed-in now"),
        ("System.DateTime", "get_UtcNow", "read time from the injected TimeProvider or a passed-in now"),
        ("System.DateTimeOffset", "get_Now", "read time from the injected TimeProvider or a passed-in now"),
        ("System.DateTimeOffset", "get_UtcNow", "read time from the injected TimeProvider or a passed-in now"),
        ("System.Diagnostics.Stopwatch", null, "read time from the injected TimeProvider or a passed-in now"),
        ("System.Environment", "get_TickCount", "read time from the injected TimeProvider or a passed-in now"),
        ("System.Environment", "get_TickCount64", "read time from the injected TimeProvider or a passed-in now"),
        ("System.Random", null, "take randomness from the injected source"),
    ];

    public static bool IsPureCore(string owner)
    {
        if (Exceptions.ContainsKey(owner))
        {
            return false;
        }
        int dot = owner.LastIndexOf('.');
        return dot > 0 && Array.IndexOf(Namespaces, owner[..dot]) >= 0;
    }

    /// <summary>The reason a reference is forbidden, or null when it is allowed.</summary>
    public static string? Violation(string target)
    {
        int sep = target.IndexOf("::", StringComparison.Ordinal);
        string type = sep < 0 ? target : target[..sep];
        string? member = sep < 0 ? null : target[(sep + 2)..];
        foreach ((string Type, string? Member, string Why) rule in Forbidden)
        {
            if (type == rule.Type && (rule.Member is null || member == rule.Member))
            {
                return rule.Why;
            }
        }
        return null;
    }

    /// <summary>Every forbidden reference made by the types <paramref name="includeOwner"/> selects, one line each.</summary>
    public static List<string> Violations(string assemblyPath, Func<string, bool> includeOwner)
    {
        var lines = new List<string>();
        foreach (IlReference r in IlReferences.Scan(assemblyPath, includeOwner))
        {
            if (Violation(r.Target) is { } why)
            {
                lines.Add($"{r.Method} uses {r.Target}: {why}");
            }
        }
        return lines;
    }
}
