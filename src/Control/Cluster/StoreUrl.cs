using System.Globalization;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Where the session store lives (docs/design.md §6, docs/cluster.md): `memory` (the embedded default) or
/// `redis[s]://[USER@]HOST[:PORT][/DB][?prefix=NAME&amp;timeout=DURATION&amp;lease=DURATION]`. The key prefix separates
/// clusters sharing one Redis; the timeout is the per-operation bound after which the store counts as
/// unavailable (docs/session-spec.md §3: 200 ms); lease is the ownership lease (10 s, renewed every third of it).
/// `rediss://` connects over TLS. A password never comes from the URL (it would show in process lists and
/// logs): it is in <see cref="Access"/>, read from `StorePasswordFile` or the environment (docs/cluster.md).
/// </summary>
public sealed record StoreUrl(string Scheme, string Host, int Port, int Database, string Prefix, int TimeoutMs, long LeaseMs)
{
    /// <summary>True for `rediss://`: TLS, with the server's certificate checked (<see cref="StoreAccess"/>).</summary>
    public bool Tls { get; init; }

    /// <summary>The ACL user named in the URL (`redis://USER@host`), or null.</summary>
    public string? User { get; init; }

    /// <summary>Credentials and TLS trust for the connection; never printed.</summary>
    public StoreAccess Access { get; init; } = StoreAccess.None;

    public const long DefaultLeaseMs = 10_000;

    public static StoreUrl Memory { get; } = new("memory", "", 0, 0, "jvpn", 200, DefaultLeaseMs);

    public bool IsMemory => Scheme == "memory";

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
        bool tls = s.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);
        if ((!tls && !s.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)) || !Uri.TryCreate(s, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            problem = $"'{Redacted(text)}' is not a store: use memory, redis://[USER@]HOST:PORT[/DB][?prefix=NAME&timeout=200ms&lease=10s] or rediss://... for TLS";
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
        string prefix = "jvpn";
        long timeout = 200;
        long lease = DefaultLeaseMs;
        foreach (string pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = pair.Split('=', 2);
            string key = kv[0].ToLowerInvariant();
            string value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
            if (key == "prefix" && value.Length > 0)
            {
                prefix = value;
            }
            else if (key is "timeout" or "lease")
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
                else
                {
                    lease = ms;
                }
            }
            else
            {
                problem = $"'{Redacted(text)}': unknown parameter '{kv[0]}' (known: prefix, timeout, lease)";
                return false;
            }
        }
        url = new StoreUrl(tls ? "rediss" : "redis", uri.Host, uri.Port > 0 ? uri.Port : 6379, db, prefix, (int)Math.Min(timeout, int.MaxValue), lease)
        {
            Tls = tls,
            User = user,
        };
        problem = null;
        return true;
    }

    /// <summary>Opens the store this URL names.</summary>
    public ISessionStore Open(TimeProvider? time = null) => IsMemory ? new InMemorySessionStore(time) : RedisSessionStore.Connect(this);

    public override string ToString() => IsMemory ? "memory" : string.Create(CultureInfo.InvariantCulture,
        $"{Scheme}://{(User is null ? "" : Uri.EscapeDataString(User) + "@")}{Host}:{Port}/{Database}?prefix={Prefix}");

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
