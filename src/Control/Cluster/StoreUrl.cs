using System.Globalization;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Where the session store lives (DESIGN §6, docs/cluster.md): `memory` (the embedded default) or
/// `redis://HOST[:PORT][/DB][?prefix=NAME&amp;timeout=DURATION&amp;lease=DURATION]`. The key prefix separates
/// clusters sharing one Redis; the timeout is the per-operation bound after which the store counts as
/// unavailable (session-spec §3: 200 ms); lease is the ownership lease (10 s, renewed every third of it).
/// </summary>
public sealed record StoreUrl(string Scheme, string Host, int Port, int Database, string Prefix, int TimeoutMs, long LeaseMs)
{
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
        if (!s.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || !Uri.TryCreate(s, UriKind.Absolute, out Uri? uri) || uri.Host.Length == 0)
        {
            problem = $"'{text}' is not a store: use memory or redis://HOST:PORT[/DB][?prefix=NAME&timeout=200ms&lease=10s]";
            return false;
        }
        if (uri.UserInfo.Length > 0)
        {
            problem = $"'{text}': credentials in the store URL are not supported (they would show in process lists); bind Redis to a private address";
            return false;
        }
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
                    problem = $"'{text}': {key}: {p ?? "must be positive"}";
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
                problem = $"'{text}': unknown parameter '{kv[0]}' (known: prefix, timeout, lease)";
                return false;
            }
        }
        url = new StoreUrl("redis", uri.Host, uri.Port > 0 ? uri.Port : 6379, db, prefix, (int)Math.Min(timeout, int.MaxValue), lease);
        problem = null;
        return true;
    }

    /// <summary>Opens the store this URL names.</summary>
    public ISessionStore Open(TimeProvider? time = null) => IsMemory ? new InMemorySessionStore(time) : RedisSessionStore.Connect(this);

    public override string ToString() => IsMemory ? "memory" : string.Create(CultureInfo.InvariantCulture, $"redis://{Host}:{Port}/{Database}?prefix={Prefix}");
}
