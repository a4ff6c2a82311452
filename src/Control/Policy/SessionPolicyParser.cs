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
        "lease", "nodettl", "advertiseendpoint", "ownerup", "ownerdown", "killswitch", "killswitchallowlan", "receivethreads",
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
    /// (<see cref="SessionPolicy.Validate"/>). Throws <see cref="ConfigException"/> naming the file and key, and the
    /// line when <paramref name="lines"/> (TunnelConfig.JumpingLines) knows it.
    /// </summary>
    public static SessionPolicy Parse(IReadOnlyDictionary<string, string> jumpingSection, string? sourceFile, IReadOnlyDictionary<string, int>? lines = null)
    {
        ArgumentNullException.ThrowIfNull(jumpingSection);
        var where = new Location(sourceFile, lines);
        var p = SessionPolicy.Default;
        // The profile is a preset: read it first so an explicit key overrides it whatever the order.
        foreach (KeyValuePair<string, string> entry in jumpingSection)
        {
            if (Normalize(entry.Key) == "profile")
            {
                p = Profile(where, entry.Key, entry.Value.Trim());
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
                "policyversion" => p with { Version = value.Length > 0 ? value : throw Error(where, key, "must not be empty") },
                "maxlifetime" => p with { MaxLifetimeMs = Duration(where, key, value) },
                "transportlostttl" => p with { TransportLostTtlMs = Duration(where, key, value) },
                "recoverywindow" => p with { RecoveryWindowMs = Duration(where, key, value) },
                "heartbeatinterval" or "heartbeat" => p with { HeartbeatIntervalMs = Duration(where, key, value) },
                "heartbeatvolatile" => p with { HeartbeatVolatileMs = Duration(where, key, value) },
                "transportdead" => p with { TransportDeadMs = Duration(where, key, value) },
                "losswindow" => p with { LossWindowMs = Duration(where, key, value) },
                "lossthreshold" => p with { LossThreshold = Ratio(where, key, value) },
                "maxconsecutivedrops" or "consecutivedrops" => p with { MaxConsecutiveDrops = Integer(where, key, value) },
                "volatiletodegraded" => p with { VolatileToDegradedMs = Duration(where, key, value) },
                "stabilitywindow" => p with { StabilityWindowMs = Duration(where, key, value) },
                "probation" or "postswitchprobation" => p with { ProbationMs = Duration(where, key, value) },
                "maxswitchespermin" or "maxswitchesperminute" => p with { MaxSwitchesPerMinute = Integer(where, key, value) },
                "switchcooldown" or "cooldown" => p with { SwitchCooldownMs = Duration(where, key, value) },
                "improvementfactor" or "switchimprovementfactor" => p with { ImprovementFactor = Factor(where, key, value) },
                "maxcandidatepaths" => p with { MaxCandidatePaths = Integer(where, key, value) },
                "ctrlreplaywindow" => p with { CtrlReplayWindow = Integer(where, key, value) },
                "maxforwardgap" => p with { MaxForwardGap = Integer(where, key, value) },
                "maxsessions" or "maxsessionspernode" => p with { MaxSessionsPerNode = Integer(where, key, value) },
                "handshaketimeout" => p with { HandshakeTimeoutMs = Duration(where, key, value) },
                "tombstonettl" => p with { TombstoneTtlMs = Duration(where, key, value) },
                "degradedmax" => p with { DegradedMaxMs = Duration(where, key, value) },
                "allowplannedmigration" => p with { AllowPlannedMigration = Boolean(where, key, value) },
                "controlrate" => p with { ControlRatePerSecond = Integer(where, key, value) },
                "controlburst" => p with { ControlBurst = Integer(where, key, value) },
                "pathprobeinterval" => p with { PathProbeIntervalMs = Duration(where, key, value) },
                "pathfastprobeinterval" => p with { PathFastProbeIntervalMs = Duration(where, key, value) },
                "pathdead" => p with { PathDeadMs = Duration(where, key, value) },
                "idleafter" => p with { IdleAfterMs = Duration(where, key, value) },
                "idlekeepaliveinterval" or "idlekeepalive" => p with { IdleKeepaliveIntervalMs = Duration(where, key, value) },
                "profile" => p,
                "rebindhintinterval" => p with { RebindHintIntervalMs = Duration(where, key, value) },
                _ => throw Error(where, key, "unknown key in [Jumping]; known keys: " + string.Join(", ", s_knownKeys)),
            };
        }
        if (p.Validate() is { } error)
        {
            throw Error(where, error.Key, error.Problem);
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

    private static long Duration(Location file, string key, string value) =>
        TryParseDuration(value, out long ms, out string? problem) ? ms : throw Error(file, key, problem!);

    private static int Integer(Location file, string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw Error(file, key, $"'{value}' is not a non-negative whole number");

    private static double Ratio(Location file, string key, string value)
    {
        string s = value.EndsWith('%') ? value[..^1].TrimEnd() : value;
        if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
        {
            throw Error(file, key, $"'{value}' is not a ratio: write 0.2 or 20%");
        }
        return value.EndsWith('%') ? d / 100 : d;
    }

    private static double Factor(Location file, string key, string value) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            ? d
            : throw Error(file, key, $"'{value}' is not a number (e.g. 1.10)");

    private static bool Boolean(Location file, string key, string value) => value.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw Error(file, key, $"'{value}' is not a boolean: use true or false"),
    };

    /// <summary>
    /// `Profile = default | battery` (docs/paths.md "Idle"): battery (also `metered`) makes an idle client
    /// send one keepalive per 25 s instead of 12 s; everything else stays as the defaults.
    /// </summary>
    private static SessionPolicy Profile(Location file, string key, string value) => value.ToLowerInvariant() switch
    {
        "default" or "" => SessionPolicy.Default,
        "battery" or "metered" => SessionPolicy.Default with { IdleKeepaliveIntervalMs = SessionPolicy.BatteryIdleKeepaliveMs },
        _ => throw Error(file, key, $"'{value}' is not a profile: use default or battery"),
    };

    /// <summary>
    /// Where the section came from. A key is looked up by its normalized spelling, so an error reported under
    /// SessionPolicy.Validate's snake_case name still finds the line of `MaxLifetime = ...`.
    /// </summary>
    private sealed class Location(string? file, IReadOnlyDictionary<string, int>? lines)
    {
        public ConfigException Error(string key, string problem)
        {
            int? line = null;
            if (lines is not null)
            {
                string norm = Normalize(key);
                foreach (KeyValuePair<string, int> entry in lines)
                {
                    if (Normalize(entry.Key) == norm)
                    {
                        line = entry.Value;
                    }
                }
            }
            return new ConfigException(file, line, key, problem);
        }
    }

    private static ConfigException Error(Location where, string key, string problem) => where.Error(key, problem);
}
