using System.Globalization;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Policy;

namespace JumpingVpn.Control.Hosting;

/// <summary>
/// Reads a loaded config's `[Jumping]` section into <see cref="JumpingOptions"/> (docs/configuration.md §2),
/// once, before `jvpn up` touches the system. Every value is checked here; a bad one is a
/// <see cref="ConfigException"/> naming file, line, key and the accepted values (docs/configuration.md §1).
/// </summary>
public static class JumpingOptionsParser
{
    private static readonly string[] s_sessionLayers = ["auto", "client", "server", "off"];
    private static readonly string[] s_pathModes = ["auto", "on", "off"];
    private static readonly string[] s_onOff = ["on", "off"];

    /// <summary>
    /// The typed options of <paramref name="config"/>. <paramref name="storeOverride"/> is `jvpn up --store URL`;
    /// <paramref name="environment"/> supplies the store password variable (the process environment when null).
    /// </summary>
    public static JumpingOptions Parse(TunnelConfig config, string? storeOverride = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        IReadOnlyDictionary<string, string> raw = config.Jumping;
        var options = new JumpingOptions
        {
            Config = config,
            SessionLayer = Choice(config, "SessionLayer", s_sessionLayers, "auto") switch
            {
                "client" => SessionLayerMode.Client,
                "server" => SessionLayerMode.Server,
                "off" => SessionLayerMode.Off,
                _ => SessionLayerMode.Auto,
            },
            Paths = Choice(config, "Paths", s_pathModes, "auto") switch
            {
                "on" => PathsMode.On,
                "off" => PathsMode.Off,
                _ => PathsMode.Auto,
            },
            Interfaces = raw.TryGetValue("interfaces", out string? names)
                ? names.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [],
            Endpoints = Endpoints(config),
            NodeId = raw.TryGetValue("nodeid", out string? id) ? id : $"{Environment.MachineName}/{config.InterfaceName}",
            AuditLog = AuditLog(config),
            Metrics = raw.TryGetValue("metrics", out string? listen) || raw.TryGetValue("metricslisten", out listen) ? listen : null,
            KillSwitch = KillSwitch(config),
            KillSwitchAllowLan = KillSwitchAllowLan(config),
            ReceiveThreads = config.Jumping.ContainsKey("receivethreads")
                ? (int)Count(config, "ReceiveThreads", 1, JumpingOptions.MaxReceiveThreads)
                : null,
            Policy = SessionPolicyParser.Parse(raw, config.SourcePath, config.JumpingLines),
        };
        if (ParseStore(config, storeOverride, environment) is { } store)
        {
            options = options with { Cluster = Cluster(options, store) };
        }
        return options;
    }

    /// <summary>
    /// The store URL in force (the command-line override, else `[Jumping] Store`, else null: single server),
    /// with `NodeTtl` and the store access settings applied; also checks the OwnerUp/OwnerDown templates, so a
    /// bad one stops `jvpn up` before it changes anything.
    /// </summary>
    public static StoreUrl? ParseStore(TunnelConfig config, string? storeOverride, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        string? text = storeOverride ?? (config.Jumping.TryGetValue("store", out string? s) ? s : null);
        if (text is null)
        {
            return null;
        }
        if (!StoreUrl.TryParse(text, out StoreUrl url, out string? problem))
        {
            throw storeOverride is null ? config.JumpingError("Store", problem!) : new ConfigException(null, null, "--store", problem!);
        }
        if (config.Jumping.ContainsKey("lease"))
        {
            // Refused rather than ignored: a config written for 10 s leases would otherwise silently get 1 s
            // node liveness, or a mapped 10 s NodeTtl and ten times slower failover (docs/configuration.md).
            throw config.JumpingError("Lease", StoreUrl.LeaseIsGone);
        }
        if (config.Jumping.TryGetValue("nodettl", out string? ttl))
        {
            if (!SessionPolicyParser.TryParseDuration(ttl, out long ms, out string? p) || ms < ClusterCoordinator.MinNodeTtlMs)
            {
                throw config.JumpingError("NodeTtl", p ?? StoreUrl.NodeTtlTooShort);
            }
            url = url with { NodeTtlMs = ms };
        }
        foreach ((string key, string name) in (ReadOnlySpan<(string, string)>)[("ownerup", "OwnerUp"), ("ownerdown", "OwnerDown")])
        {
            if (config.Jumping.TryGetValue(key, out string? template) && !string.IsNullOrWhiteSpace(template))
            {
                try
                {
                    _ = OwnerRouteHooks.ParseTemplate(template, name);
                }
                catch (ConfigException ex)
                {
                    throw config.JumpingError(name, ex.Problem ?? ex.Message);
                }
            }
        }
        return url.IsMemory
            ? url
            : url with { Access = StoreAccess.Resolve(url, config.Jumping, config.SourcePath, environment ?? Environment.GetEnvironmentVariable, config.JumpingLines) };
    }

    /// <summary>
    /// Cluster checks that need the policy as well: NodeTtl must be shorter than transport_lost_ttl
    /// (docs/session-spec.md §5.2.3), or a session would end before another node could take it over; and the
    /// node id must be one other nodes accept in the store's records.
    /// </summary>
    private static ClusterOptions Cluster(JumpingOptions options, StoreUrl store)
    {
        TunnelConfig config = options.Config;
        if (store.NodeTtlMs >= options.Policy.TransportLostTtlMs)
        {
            throw config.JumpingError("NodeTtl",
                $"NodeTtl ({SessionPolicyParser.FormatDuration(store.NodeTtlMs)}) must be shorter than transport_lost_ttl ({SessionPolicyParser.FormatDuration(options.Policy.TransportLostTtlMs)}), or no node could take a session over before it ends");
        }
        if (StoreRecordCheck.NodeIdProblem(options.NodeId) is { } badNode)
        {
            throw config.JumpingError("NodeId", badNode + " (other nodes would refuse this node's records)");
        }
        config.Jumping.TryGetValue("ownerup", out string? up);
        config.Jumping.TryGetValue("ownerdown", out string? down);
        string advertise = config.Jumping.TryGetValue("advertiseendpoint", out string? a) ? a.Trim() : "";
        if (advertise.Length > 0 && (!JumpingVpn.Control.Sessions.TransportAddress.TryParse(advertise, out _) || advertise.Length > 64))
        {
            throw config.JumpingError("AdvertiseEndpoint", $"'{advertise}' is not IP:PORT (the address clients dial to reach this node, e.g. 192.0.2.10:51820)");
        }
        return new ClusterOptions(store, up, down, advertise);
    }

    /// <summary>One of <paramref name="accepted"/>, case-insensitive and trimmed; <paramref name="fallback"/> when the key is absent.</summary>
    private static string Choice(TunnelConfig config, string key, string[] accepted, string fallback)
    {
        if (!config.Jumping.TryGetValue(key.ToLowerInvariant(), out string? value))
        {
            return fallback;
        }
        string v = value.Trim().ToLowerInvariant();
        return Array.IndexOf(accepted, v) >= 0 ? v : throw config.JumpingError(key, $"'{v}' is not one of {string.Join(", ", accepted)}");
    }

    /// <summary>
    /// `KillSwitch = on|off` (docs/platform.md §4.8). Only a full tunnel may have one: the switch lets nothing out
    /// but the tunnel, so on a split tunnel it would silently cut off every network the config leaves outside.
    /// </summary>
    private static bool KillSwitch(TunnelConfig config)
    {
        if (Choice(config, "KillSwitch", s_onOff, "off") != "on")
        {
            return false;
        }
        if (!IsFullTunnel(config))
        {
            throw config.JumpingError("KillSwitch",
                "'on' needs a full tunnel, and no [Peer] has AllowedIPs 0.0.0.0/0 or ::/0 (the kill switch lets nothing out but the tunnel, so it would cut off every network outside AllowedIPs); route everything through the tunnel or set KillSwitch = off");
        }
        return true;
    }

    /// <summary>
    /// `KillSwitchAllowLan = on|off` (docs/platform.md §4.8 "Allow LAN"): how the kill switch treats the LAN when it is
    /// on, whether from the config or switched on at run time, so it needs a full tunnel like the switch itself.
    /// </summary>
    private static bool KillSwitchAllowLan(TunnelConfig config)
    {
        if (Choice(config, "KillSwitchAllowLan", s_onOff, "off") != "on")
        {
            return false;
        }
        if (!IsFullTunnel(config))
        {
            throw config.JumpingError("KillSwitchAllowLan",
                "'on' needs a full tunnel, and no [Peer] has AllowedIPs 0.0.0.0/0 or ::/0 (a split tunnel has no kill switch, and its LAN is reachable anyway); route everything through the tunnel or remove the line");
        }
        return true;
    }

    /// <summary>A peer takes the default route of either family (wg-quick's full-tunnel test).</summary>
    public static bool IsFullTunnel(TunnelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (PeerSection p in config.Peers)
        {
            foreach (JumpingVpn.Platform.Net.IpPrefix prefix in p.AllowedIps)
            {
                if (prefix.Length == 0)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static List<ConfigEndpoint>? Endpoints(TunnelConfig config)
    {
        if (!config.Jumping.TryGetValue("endpoints", out string? list))
        {
            return null;
        }
        var endpoints = new List<ConfigEndpoint>();
        int? line = config.JumpingLines.TryGetValue("endpoints", out int l) ? l : null;
        foreach (string item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!ConfigValueParsers.TryParseEndpoint(item, out ConfigEndpoint? ep, out string problem))
            {
                throw config.JumpingError("Endpoints", problem);
            }
            endpoints.Add(ep with { SourceName = config.SourcePath, Line = line });
        }
        return endpoints;
    }

    /// <summary>`AuditLog` (or `AuditFile`) with `AuditMaxBytes` (bytes per file, at least 1) and `AuditFiles` (files kept, at least 1).</summary>
    private static AuditLogOptions? AuditLog(TunnelConfig config)
    {
        long maxBytes = Count(config, "AuditMaxBytes", AuditLogOptions.DefaultMaxBytes, long.MaxValue);
        int files = (int)Count(config, "AuditFiles", AuditLogOptions.DefaultFiles, int.MaxValue);
        return config.Jumping.TryGetValue("auditlog", out string? path) || config.Jumping.TryGetValue("auditfile", out path)
            ? new AuditLogOptions(path, maxBytes, files)
            : null;
    }

    /// <summary>A whole number 1..<paramref name="max"/>; <paramref name="fallback"/> when the key is absent.</summary>
    private static long Count(TunnelConfig config, string key, long fallback, long max)
    {
        if (!config.Jumping.TryGetValue(key.ToLowerInvariant(), out string? value))
        {
            return fallback;
        }
        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && n >= 1 && n <= max
            ? n
            : throw config.JumpingError(key, $"'{value}' is not a whole number from 1 to {max.ToString(CultureInfo.InvariantCulture)}");
    }
}
