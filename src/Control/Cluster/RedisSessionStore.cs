using System.Diagnostics;
using System.Globalization;
using JumpingVpn.Control.Sessions;
using StackExchange.Redis;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The shared store of a cluster (DESIGN §6) on Redis: one hash per session, every mutation a Lua script
/// (<see cref="RedisScripts"/>) so check and write are one atomic step on the Redis server. The connection
/// never queues commands while Redis is away (BacklogPolicy.FailFast) and every call has the operation
/// timeout, so an unreachable or slow Redis answers <see cref="StoreStatus.Unavailable"/> at once instead of
/// committing late; reconnection is automatic, so service resumes without manual steps when Redis returns.
/// </summary>
public sealed class RedisSessionStore : ISessionStore
{
    private readonly ConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly int _db;
    private readonly RedisKey _sessionSet;
    private readonly RedisKey _nodes;
    private readonly RedisKey _peers;

    private RedisSessionStore(ConnectionMultiplexer redis, string prefix, int db, string description)
    {
        _redis = redis;
        _prefix = prefix;
        _db = db;
        Description = description;
        _sessionSet = prefix + ":sessions";
        _nodes = prefix + ":nodes";
        _peers = prefix + ":peers";
    }

    public string Description { get; }

    /// <summary>Connects lazily: a Redis that is down at start-up is retried in the background.</summary>
    public static RedisSessionStore Connect(StoreUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = Math.Max(1000, url.TimeoutMs),
            SyncTimeout = url.TimeoutMs,
            AsyncTimeout = url.TimeoutMs,
            ConnectRetry = 1,
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new LinearRetry(250),
            KeepAlive = 1,
            ClientName = "jvpn",
        };
        options.EndPoints.Add(url.Host, url.Port);
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        ConnectionMultiplexer redis = ConnectionMultiplexer.Connect(options, writer);
        return new RedisSessionStore(redis, url.Prefix, url.Database, url.ToString());
    }

    private IDatabase Db => _redis.GetDatabase(_db);

    private RedisKey Key(SessionId id) => _prefix + ":s:" + id.ToString();

    public StoreResult Create(OwnershipRecord record, long leaseMs)
    {
        ArgumentNullException.ThrowIfNull(record);
        var args = new List<RedisValue> { leaseMs, record.Id.ToString() };
        AddFields(args, record);
        return Run(RedisScripts.Create, [Key(record.Id), _sessionSet], [.. args]);
    }

    public StoreResult Read(SessionId id) => Run(RedisScripts.Read, [Key(id)], []);

    public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs)
    {
        ArgumentNullException.ThrowIfNull(next);
        var args = new List<RedisValue>
        {
            Num(expectedVersion), next.OwnerNode, Num(next.OwnerEpoch), next.State == SessionState.Terminated ? "1" : "0",
            Math.Max(1, tombstoneMs), next.Id.ToString(),
        };
        AddFields(args, next);
        return Run(RedisScripts.CompareAndSwap, [Key(next.Id), _sessionSet], [.. args]);
    }

    public StoreResult Acquire(SessionId id, string node, long leaseMs) =>
        Run(RedisScripts.Acquire, [Key(id)], [node, leaseMs]);

    public StoreResult Renew(SessionId id, string node, ulong epoch, long leaseMs) =>
        Run(RedisScripts.Renew, [Key(id)], [node, Num(epoch), Math.Max(1, leaseMs)]);

    public StoreResult Release(SessionId id, string node, ulong epoch) =>
        Run(RedisScripts.Renew, [Key(id)], [node, Num(epoch), 0]);

    public IReadOnlyList<OwnershipRecord> ListSessions()
    {
        try
        {
            RedisValue[] ids = Db.SetMembers(_sessionSet);
            var list = new List<OwnershipRecord>(ids.Length);
            foreach (RedisValue v in ids)
            {
                if (!SessionId.TryParse(v.ToString(), out SessionId id))
                {
                    continue;
                }
                StoreResult read = Read(id);
                if (read is { Status: StoreStatus.Ok, Current: { } r })
                {
                    list.Add(r);
                }
                else if (read.Status == StoreStatus.NotFound)
                {
                    Db.SetRemove(_sessionSet, v); // the record expired (see RedisScripts): forget its id too
                }
            }
            return list;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return [];
        }
    }

    public bool Heartbeat(string node, string detail, long ttlMs) =>
        Run(RedisScripts.Heartbeat, [_nodes], [node, ttlMs, detail]).IsOk;

    public IReadOnlyList<ClusterNodeInfo> ListNodes()
    {
        try
        {
            var r = (RedisResult[])Db.ScriptEvaluate(RedisScripts.ListNodes, [_nodes], [])!;
            long now = long.Parse(r[1].ToString(), CultureInfo.InvariantCulture);
            var nodes = new List<ClusterNodeInfo>();
            for (int i = 3; i + 1 < r.Length; i += 2)
            {
                string[] parts = r[i + 1].ToString().Split('|', 3);
                long expires = long.Parse(parts[0], CultureInfo.InvariantCulture);
                if (expires > now)
                {
                    nodes.Add(new ClusterNodeInfo(r[i].ToString(), parts.Length > 2 ? parts[2] : "", long.Parse(parts[1], CultureInfo.InvariantCulture), expires));
                }
            }
            nodes.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
            return nodes;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return [];
        }
    }

    public bool PutPeer(RegisteredPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        try
        {
            Db.HashSet(_peers, peer.PublicKey, peer.AllowedIps);
            return true;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return false;
        }
    }

    public IReadOnlyList<RegisteredPeer> ListPeers()
    {
        try
        {
            return [.. Db.HashGetAll(_peers).Select(e => new RegisteredPeer(e.Name.ToString(), e.Value.ToString())).OrderBy(p => p.PublicKey, StringComparer.Ordinal)];
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return [];
        }
    }

    public bool Ping(out double latencyMs)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            Db.Ping();
            latencyMs = sw.Elapsed.TotalMilliseconds;
            return true;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            latencyMs = sw.Elapsed.TotalMilliseconds;
            return false;
        }
    }

    public void Dispose() => _redis.Dispose();

    private StoreResult Run(string script, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            var r = (RedisResult[])Db.ScriptEvaluate(script, keys, args)!;
            string status = r[0].ToString();
            long now = long.Parse(r[1].ToString(), CultureInfo.InvariantCulture);
            string previous = r[2].ToString();
            OwnershipRecord? record = null;
            if (r.Length > 3 && keys.Length > 0 && keys[0] != _nodes)
            {
                var map = new Dictionary<string, string>(StringComparer.Ordinal);
                for (int i = 3; i + 1 < r.Length; i += 2)
                {
                    map[r[i].ToString()] = r[i + 1].ToString();
                }
                record = FromFields(IdOf(keys[0]), map);
            }
            StoreStatus s = status switch
            {
                "OK" => StoreStatus.Ok,
                "NOT_FOUND" => StoreStatus.NotFound,
                "ALREADY_EXISTS" => StoreStatus.AlreadyExists,
                "STALE_STATE_VERSION" => StoreStatus.StaleStateVersion,
                "OWNERSHIP_CONFLICT" => StoreStatus.OwnershipConflict,
                "LEASE_HELD" => StoreStatus.LeaseHeld,
                _ => throw new InvalidOperationException("unexpected store script status " + status),
            };
            return new StoreResult(s, record, now, previous);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return StoreResult.Unavailable;
        }
    }

    /// <summary>Why the last operation counted as unavailable (for logs and `jvpn cluster status`).</summary>
    public string? LastError { get; private set; }

    private SessionId IdOf(RedisKey key)
    {
        string k = key.ToString();
        _ = SessionId.TryParse(k[(_prefix.Length + 3)..], out SessionId id);
        return id;
    }

    private static bool IsUnavailable(Exception ex) =>
        ex is RedisException or TimeoutException or ObjectDisposedException or AggregateException { InnerException: RedisException or TimeoutException };

    private static string Num(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The record's fields except owner epoch and lease, which only acquire/renew/release change.</summary>
    private static void AddFields(List<RedisValue> args, OwnershipRecord r)
    {
        args.AddRange(
        [
            "peer", r.PeerKey, "owner", r.OwnerNode, "state", (int)r.State, "ver", Num(r.StateVersion),
            "bav", Num(r.BoundAtVersion), "bind", r.Binding, "inner", r.InnerAddresses, "pol", r.PolicyVersion,
            "created", Num(r.CreatedUnixMs), "unbound", Num(r.UnboundSinceUnixMs), "sw", r.TotalSwitches,
            "hw", Num(r.CtrlSeqHighWater), "reason", (int)r.LastReason,
        ]);
    }

    private static OwnershipRecord FromFields(SessionId id, Dictionary<string, string> f)
    {
        string Get(string k) => f.TryGetValue(k, out string? v) ? v : "";
        long L(string k) => long.TryParse(Get(k), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : 0;
        ulong U(string k) => ulong.TryParse(Get(k), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : 0;
        return new OwnershipRecord
        {
            Id = id,
            PeerKey = Get("peer"),
            OwnerNode = Get("owner"),
            OwnerEpoch = U("epoch"),
            LeaseExpiryUnixMs = L("lease"),
            State = (SessionState)L("state"),
            StateVersion = U("ver"),
            BoundAtVersion = U("bav"),
            Binding = Get("bind"),
            InnerAddresses = Get("inner"),
            PolicyVersion = Get("pol"),
            CreatedUnixMs = L("created"),
            UnboundSinceUnixMs = f.ContainsKey("unbound") ? L("unbound") : -1,
            TotalSwitches = (int)L("sw"),
            CtrlSeqHighWater = U("hw"),
            LastReason = (ReasonCode)L("reason"),
        };
    }
}
