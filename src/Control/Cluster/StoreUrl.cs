using System.Globalization;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Where the session store lives (docs/design.md §6, docs/cluster.md): `memory` (the embedded default),
/// `redis[s]://[USER@]HOST[:PORT][/DB][?prefix=NAME&amp;timeout=DURATION&amp;nodettl=DURATION]`, or
/// `etcd[s]://[USER@]HOST[:PORT][,HOST[:PORT]...][?prefix=...]` (the members of one etcd cluster). The key prefix separates
/// clusters sharing one store; the timeout is the per-operation bound after which the store counts as
/// unavailable (docs/session-spec.md §3: 200 ms); nodettl is how long a node's heartbeat may stand still before
/// other nodes take its sessions (700 ms, docs/cluster.md "Node liveness"; `[Jumping] NodeTtl` sets it too).
/// `rediss://` and `etcds://` connect over TLS. A password never comes from the URL (it would show in process lists and
/// logs): it is in <see cref="Access"/>, read from `StorePasswordFile` or the environment (docs/cluster.md).
/// </summary>
public sealed record StoreUrl(string Scheme, string Host, int Port, int Database, string Prefix, int TimeoutMs, long NodeTtlMs)
{
    /// <summary>True for `rediss://` and `etcds://`: TLS, with the server's certificate checked (<see cref="StoreAccess"/>).</summary>
    public bool Tls { get; init; }

    /// <summary>The user named in the URL (`redis://USER@host`, `etcd://USER@host`), or null.</summary>
    public string? User { get; init; }

    /// <summary>Credentials and TLS trust for the connection; never printed.</summary>
    public StoreAccess Access { get; init; } = StoreAccess.None;

    /// <summary>Every member the URL names (an etcd URL may list several; the first is <see cref="Host"/>:<see cref="Port"/>).</summary>
    public IReadOnlyList<StoreEndpoint> Endpoints { get; init; } = [];

    public const long DefaultNodeTtlMs = ClusterCoordinator.DefaultNodeTtlMs;

    public const int DefaultEtcdPort = 2379;

    public static StoreUrl Memory { get; } = new("memory", "", 0, 0, "jvpn", 200, DefaultNodeTtlMs);

    public bool IsMemory => Scheme == "memory";

    /// <summary>True for `etcd://` and `etcds://`.</summary>
    public bool IsEtcd => Scheme is "etcd" or "etcds";

    /// <summary>Parses a store URL; false with a one-line problem otherwise.</summary>
    public static bool TryParse(string text, out StoreUrl url, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        url = Memory;
        string s = text.Trim();
        if (s.Length == 0 || s is "memory" or "memory://" or "in-memory")
        {
            problem = null;
            return true;
        }
        if (s.StartsWith("etcd://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("etcds://", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseEtcd(text, s, out url, out problem);
        }
        bool tls = s.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);
        if ((!tls && !s.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)) || !Uri.TryCreate(s, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            problem = $"'{Redacted(text)}' is not a store: use memory, redis://[USER@]HOST:PORT[/DB][?prefix=NAME&timeout=200ms&nodettl=1s], rediss://... for TLS, or etcd[s]://HOST:2379[,HOST:2379...][?prefix=NAME...]";
            return false;
        }
        if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
        {
            problem = $"'{Redacted(text)}': a password in the store URL is not supported (it would show in process lists and logs); put it in a file named by [Jumping] StorePasswordFile (chmod 600), or in the environment variable {StoreAccess.PasswordVariable}";
            return false;
        }
        string? user = uri.UserInfo.Length > 0 ? Uri.UnescapeDataString(uri.UserInfo) : null;
        int db = 0;
        string path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && !int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out db))
        {
            problem = $"'{text}': the path must be a Redis database number, e.g. redis://127.0.0.1:6379/0";
            return false;
        }
        if (!TryParseQuery(text, uri.Query, out string prefix, out long timeout, out long nodeTtl, out problem))
        {
            return false;
        }
        url = new StoreUrl(tls ? "rediss" : "redis", uri.Host, uri.Port > 0 ? uri.Port : 6379, db, prefix, (int)Math.Min(timeout, int.MaxValue), nodeTtl)
        {
            Tls = tls,
            User = user,
            Endpoints = [new StoreEndpoint(uri.Host, uri.Port > 0 ? uri.Port : 6379)],
        };
        problem = null;
        return true;
    }

    /// <summary>
    /// `etcd[s]://[USER@]HOST[:PORT][,HOST[:PORT]...][/][?QUERY]`: a member list is not a URI authority, so
    /// this is split by hand (an IPv6 member is written `[ADDR]:PORT`).
    /// </summary>
    private static bool TryParseEtcd(string text, string s, out StoreUrl url, out string? problem)
    {
        url = Memory;
        bool tls = s.StartsWith("etcds://", StringComparison.OrdinalIgnoreCase);
        string rest = s[(tls ? "etcds://".Length : "etcd://".Length)..];
        string query = "";
        int q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[q..];
            rest = rest[..q];
        }
        rest = rest.TrimEnd('/');
        string? user = null;
        int at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            string info = rest[..at];
            if (info.Contains(':', StringComparison.Ordinal))
            {
                problem = $"'{Redacted(text)}': a password in the store URL is not supported (it would show in process lists and logs); put it in a file named by [Jumping] StorePasswordFile (chmod 600), or in the environment variable {StoreAccess.PasswordVariable}";
                return false;
            }
            user = Uri.UnescapeDataString(info);
            rest = rest[(at + 1)..];
        }
        var endpoints = new List<StoreEndpoint>();
        foreach (string member in rest.Split(','))
        {
            if (!StoreEndpoint.TryParse(member.Trim(), DefaultEtcdPort, out StoreEndpoint endpoint))
            {
                problem = $"'{Redacted(text)}': '{member}' is not HOST[:PORT]; use etcd://HOST:2379[,HOST:2379...][?prefix=NAME&timeout=200ms&nodettl=1s]";
                return false;
            }
            endpoints.Add(endpoint);
        }
        if (user is { Length: 0 })
        {
            problem = $"'{Redacted(text)}': empty user name before '@'";
            return false;
        }
        if (!TryParseQuery(text, query, out string prefix, out long timeout, out long nodeTtl, out problem))
        {
            return false;
        }
        url = new StoreUrl(tls ? "etcds" : "etcd", endpoints[0].Host, endpoints[0].Port, 0, prefix, (int)Math.Min(timeout, int.MaxValue), nodeTtl)
        {
            Tls = tls,
            User = user,
            Endpoints = endpoints,
        };
        problem = null;
        return true;
    }

    /// <summary>The query parameters shared by every store: prefix, timeout, nodettl.</summary>
    private static bool TryParseQuery(string text, string query, out string prefix, out long timeout, out long nodeTtl, out string? problem)
    {
        prefix = "jvpn";
        timeout = 200;
        nodeTtl = DefaultNodeTtlMs;
        foreach (string pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            string key = kv[0].ToLowerInvariant();
            string value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
            if (key == "prefix" && value.Length > 0)
            {
                prefix = value;
            }
            else if (key == "lease")
            {
                problem = $"'{Redacted(text)}': lease: {LeaseIsGone}";
                return false;
            }
            else if (key is "timeout" or "nodettl")
            {
                if (!Policy.SessionPolicyParser.TryParseDuration(value, out long ms, out string? p) || ms <= 0)
                {
                    problem = $"'{Redacted(text)}': {key}: {p ?? "must be positive"}";
                    return false;
                }
                if (key == "timeout")
                {
                    timeout = ms;
                }
                else if (ms < ClusterCoordinator.MinNodeTtlMs)
                {
                    problem = $"'{Redacted(text)}': nodettl: {NodeTtlTooShort}";
                    return false;
                }
                else
                {
                    nodeTtl = ms;
                }
            }
            else
            {
                problem = $"'{Redacted(text)}': unknown parameter '{kv[0]}' (known: prefix, timeout, nodettl)";
                return false;
            }
        }
        problem = null;
        return true;
    }

    /// <summary>Why `Lease` / `lease=` is refused (docs/configuration.md "NodeTtl").</summary>
    public const string LeaseIsGone = "per-session leases no longer exist: remove it; node failure detection is [Jumping] NodeTtl (default 700ms)";

    public const string NodeTtlTooShort = "must be at least 300ms (a heartbeat goes out every NodeTtl/4 and needs a store round trip)";

    /// <summary>Opens the store this URL names.</summary>
    public ISessionStore Open(TimeProvider? time = null) =>
        IsMemory ? new InMemorySessionStore(time) : IsEtcd ? EtcdSessionStore.Connect(this, time) : RedisSessionStore.Connect(this);

    public override string ToString() => IsMemory ? "memory" : IsEtcd
        ? $"{Scheme}://{(User is null ? "" : Uri.EscapeDataString(User) + "@")}{string.Join(',', Endpoints)}?prefix={Prefix}"
        : string.Create(CultureInfo.InvariantCulture, $"{Scheme}://{(User is null ? "" : Uri.EscapeDataString(User) + "@")}{Host}:{Port}/{Database}?prefix={Prefix}");

    /// <summary>The URL as typed, with anything between `://` and `@` that holds a colon (a password) masked.</summary>
    private static string Redacted(string text)
    {
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        int at = text.IndexOf('@', StringComparison.Ordinal);
        if (scheme < 0 || at < scheme)
        {
            return text;
        }
        int colon = text.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? string.Concat(text.AsSpan(0, colon + 1), "***", text.AsSpan(at)) : text;
    }
}
