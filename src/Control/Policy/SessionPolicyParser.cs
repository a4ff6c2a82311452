using System.Globalization;
using JumpingVpn.Control.Config;

namespace JumpingVpn.Control.Policy;

/// <summary>
/// Reads the `[Jumping]` section (docs/design.md §7) into a <see cref="SessionPolicy"/>. Keys arrive lower-cased
/// (TunnelConfig.Jumping); `max_lifetime`, `max-lifetime` and `MaxLifetime` all name the same key, so
/// both snake_case and wg-quick's PascalCase style work. Durations need a unit (`500ms`, `15s`, `2m`,
/// `8h`): a bare number is ambiguous between ms and s, and guessing wrong by 1000x is worse than an error.
/// </summary>
public static class SessionPolicyParser
{
    /// <summary>
    /// Keys of the [Jumping] section that belong to other parts of jvpn (extra endpoints, audit and metrics
    /// sinks); the policy parser skips them instead of calling them unknown.
    /// </summary>
    public static IReadOnlySet<string> NonPolicyKeys { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "endpoint", "endpoints", "nodeid", "auditfile", "auditlog", "auditmaxbytes", "auditfiles",
        "metrics", "metricslisten", "metricsaddress", "store", "sessionlayer", "interfaces", "paths", "peers",
        "lease", "ownerup", "ownerdown",
        "storeuser", "storepasswordfile", "storecafile", "storeservername", "storecertfile", "storekeyfile",
    };

    private static readonly string[] s_knownKeys =
    [
        "policy_version", "max_lifetime", "transport_lost_ttl", "recovery_window", "heartbeat_interval",
        "heartbeat_volatile", "transport_dead", "loss_window", "loss_threshold", "max_consecutive_drops",
        "volatile_to_degraded", "stability_window", "probation", "max_switches_per_min", "switch_cooldown",
        "improvement_factor", "max_candidate_paths", "ctrl_replay_window", "max_forward_gap", "max_sessions",
        "handshake_timeout", "tombstone_ttl", "degraded_max", "allow_planned_migration", "control_rate",
        "control_burst", "rebind_hint_interval", "path_probe_interval", "path_fast_probe_interval", "path_dead",
        "idle_after", "idle_keepalive_interval", "profile",
    ];

    /// <summary>
    /// Builds the policy from docs/design.md §3 defaults plus the section's overrides, then validates it
    /// (<see cref="SessionPolicy.Validate"/>). Throws <see cref="ConfigException"/> naming the file and key.
    /// </summary>
    public static SessionPolicy Parse(IReadOnlyDictionary<string, string> jumpingSection, string? sourceFile)
    {
        ArgumentNullException.ThrowIfNull(jumpingSection);
        var p = SessionPolicy.Default;
        // The profile is a preset: read it first so an explicit key overrides it whatever the order.
        foreach (KeyValuePair<string, string> entry in jumpingSection)
        {
            if (Normalize(entry.Key) == "profile")
            {
                p = Profile(sourceFile, entry.Key, entry.Value.Trim());
            }
        }
        // Sorted so that, with several bad keys, the error reported is the same on every run.
        var keys = new List<string>(jumpingSection.Keys);
        keys.Sort(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            string value = jumpingSection[key].Trim();
            string norm = Normalize(key);
            if (NonPolicyKeys.Contains(norm))
            {
                continue;
            }
            p = norm switch
            {
                "policyversion" => p with { Version = value.Length > 0 ? value : throw Error(sourceFile, key, "must not be empty") },
                "maxlifetime" => p with { MaxLifetimeMs = Duration(sourceFile, key, value) },
                "transportlostttl" => p with { TransportLostTtlMs = Duration(sourceFile, key, value) },
                "recoverywindow" => p with { RecoveryWindowMs = Duration(sourceFile, key, value) },
                "heartbeatinterval" or "heartbeat" => p with { HeartbeatIntervalMs = Duration(sourceFile, key, value) },
                "heartbeatvolatile" => p with { HeartbeatVolatileMs = Duration(sourceFile, key, value) },
                "transportdead" => p with { TransportDeadMs = Duration(sourceFile, key, value) },
                "losswindow" => p with { LossWindowMs = Duration(sourceFile, key, value) },
                "lossthreshold" => p with { LossThreshold = Ratio(sourceFile, key, value) },
                "maxconsecutivedrops" or "consecutivedrops" => p with { MaxConsecutiveDrops = Integer(sourceFile, key, value) },
                "volatiletodegraded" => p with { VolatileToDegradedMs = Duration(sourceFile, key, value) },
                "stabilitywindow" => p with { StabilityWindowMs = Duration(sourceFile, key, value) },
                "probation" or "postswitchprobation" => p with { ProbationMs = Duration(sourceFile, key, value) },
                "maxswitchespermin" or "maxswitchesperminute" => p with { MaxSwitchesPerMinute = Integer(sourceFile, key, value) },
                "switchcooldown" or "cooldown" => p with { SwitchCooldownMs = Duration(sourceFile, key, value) },
                "improvementfactor" or "switchimprovementfactor" => p with { ImprovementFactor = Factor(sourceFile, key, value) },
                "maxcandidatepaths" => p with { MaxCandidatePaths = Integer(sourceFile, key, value) },
                "ctrlreplaywindow" => p with { CtrlReplayWindow = Integer(sourceFile, key, value) },
                "maxforwardgap" => p with { MaxForwardGap = Integer(sourceFile, key, value) },
                "maxsessions" or "maxsessionspernode" => p with { MaxSessionsPerNode = Integer(sourceFile, key, value) },
                "handshaketimeout" => p with { HandshakeTimeoutMs = Duration(sourceFile, key, value) },
                "tombstonettl" => p with { TombstoneTtlMs = Duration(sourceFile, key, value) },
                "degradedmax" => p with { DegradedMaxMs = Duration(sourceFile, key, value) },
                "allowplannedmigration" => p with { AllowPlannedMigration = Boolean(sourceFile, key, value) },
                "controlrate" => p with { ControlRatePerSecond = Integer(sourceFile, key, value) },
                "controlburst" => p with { ControlBurst = Integer(sourceFile, key, value) },
                "pathprobeinterval" => p with { PathProbeIntervalMs = Duration(sourceFile, key, value) },
                "pathfastprobeinterval" => p with { PathFastProbeIntervalMs = Duration(sourceFile, key, value) },
                "pathdead" => p with { PathDeadMs = Duration(sourceFile, key, value) },
                "idleafter" => p with { IdleAfterMs = Duration(sourceFile, key, value) },
                "idlekeepaliveinterval" or "idlekeepalive" => p with { IdleKeepaliveIntervalMs = Duration(sourceFile, key, value) },
                "profile" => p,
                "rebindhintinterval" => p with { RebindHintIntervalMs = Duration(sourceFile, key, value) },
                _ => throw Error(sourceFile, key, "unknown key in [Jumping]; known keys: " + string.Join(", ", s_knownKeys)),
            };
        }
        if (p.Validate() is { } error)
        {
            throw Error(sourceFile, error.Key, error.Problem);
        }
        return p;
    }

    /// <summary>Parses `250ms`, `15s`, `2m`, `8h`, `1.5s` into milliseconds; false with a message otherwise.</summary>
    public static bool TryParseDuration(string text, out long milliseconds, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        milliseconds = 0;
        string s = text.Trim();
        int unitStart = s.Length;
        while (unitStart > 0 && char.IsAsciiLetter(s[unitStart - 1]))
        {
            unitStart--;
        }
        string number = s[..unitStart].TrimEnd();
        string unit = s[unitStart..].ToLowerInvariant();
        long scale = unit switch
        {
            "ms" => 1,
            "s" => 1_000,
            "m" or "min" => 60_000,
            "h" => 3_600_000,
            _ => 0,
        };
        if (scale == 0)
        {
            problem = unit.Length == 0
                ? $"'{text}' needs a unit: ms, s, m or h (e.g. 500ms, 15s, 8h)"
                : $"'{text}' has an unknown unit '{unit}': use ms, s, m or h";
            return false;
        }
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value)
            || value > long.MaxValue / 3_600_000)
        {
            problem = $"'{text}' is not a duration: expected a non-negative number followed by ms, s, m or h";
            return false;
        }
        decimal ms = value * scale;
        if (ms != decimal.Truncate(ms))
        {
            problem = $"'{text}' is not a whole number of milliseconds";
            return false;
        }
        milliseconds = (long)ms;
        problem = null;
        return true;
    }

    /// <summary>The shortest exact spelling of a duration, in the syntax <see cref="TryParseDuration"/> reads.</summary>
    public static string FormatDuration(long milliseconds) =>
        milliseconds != 0 && milliseconds % 3_600_000 == 0 ? (milliseconds / 3_600_000).ToString(CultureInfo.InvariantCulture) + "h"
        : milliseconds != 0 && milliseconds % 60_000 == 0 ? (milliseconds / 60_000).ToString(CultureInfo.InvariantCulture) + "m"
        : milliseconds != 0 && milliseconds % 1_000 == 0 ? (milliseconds / 1_000).ToString(CultureInfo.InvariantCulture) + "s"
        : milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";

    private static string Normalize(string key)
    {
        var chars = new System.Text.StringBuilder(key.Length);
        foreach (char c in key)
        {
            if (c is not ('_' or '-'))
            {
                chars.Append(char.ToLowerInvariant(c));
            }
        }
        return chars.ToString();
    }

    private static long Duration(string? file, string key, string value) =>
        TryParseDuration(value, out long ms, out string? problem) ? ms : throw Error(file, key, problem!);

    private static int Integer(string? file, string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw Error(file, key, $"'{value}' is not a non-negative whole number");

    private static double Ratio(string? file, string key, string value)
    {
        string s = value.EndsWith('%') ? value[..^1].TrimEnd() : value;
        if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
        {
            throw Error(file, key, $"'{value}' is not a ratio: write 0.2 or 20%");
        }
        return value.EndsWith('%') ? d / 100 : d;
    }

    private static double Factor(string? file, string key, string value) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            ? d
            : throw Error(file, key, $"'{value}' is not a number (e.g. 1.10)");

    private static bool Boolean(string? file, string key, string value) => value.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw Error(file, key, $"'{value}' is not a boolean: use true or false"),
    };

    /// <summary>
    /// `Profile = default | battery` (docs/paths.md "Idle"): battery (also `metered`) makes an idle client
    /// send one keepalive per 25 s instead of 12 s; everything else stays as the defaults.
    /// </summary>
    private static SessionPolicy Profile(string? file, string key, string value) => value.ToLowerInvariant() switch
    {
        "default" or "" => SessionPolicy.Default,
        "battery" or "metered" => SessionPolicy.Default with { IdleKeepaliveIntervalMs = SessionPolicy.BatteryIdleKeepaliveMs },
        _ => throw Error(file, key, $"'{value}' is not a profile: use default or battery"),
    };

    private static ConfigException Error(string? file, string key, string problem) =>
        new(file, null, key, problem);
}
