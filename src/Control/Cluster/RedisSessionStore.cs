using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using JumpingVpn.Control.Sessions;
using StackExchange.Redis;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The shared store of a cluster (docs/design.md §6) on Redis: one hash per session, every mutation a Lua script
/// (<see cref="RedisScripts"/>) so check and write are one atomic step on the Redis server. The connection
/// never queues commands while Redis is away (BacklogPolicy.FailFast) and every call has the operation
/// timeout, so an unreachable or slow Redis answers <see cref="StoreStatus.Unavailable"/> at once instead of
/// committing late; reconnection is automatic, so service resumes without manual steps when Redis returns.
/// </summary>
public sealed class RedisSessionStore : ISessionStore, IStoreAuthentication
{
    private readonly ConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly int _db;
    private readonly RedisKey _sessionSet;
    private readonly RedisKey _nodes;
    private readonly RedisKey _nodeEpochs;
    private readonly RedisKey _peers;

    private RedisSessionStore(ConnectionMultiplexer redis, string prefix, int db, string description)
    {
        _redis = redis;
        _prefix = prefix;
        _db = db;
        Description = description;
        _sessionSet = prefix + ":sessions";
        _nodes = prefix + ":nodes";
        _nodeEpochs = prefix + ":nodeepochs";
        _peers = prefix + ":peers";
        _byCreated = prefix + ":created";
        _byReleased = prefix + ":released";
    }

    /// <summary>docs/cluster.md "Record expiry": session ids by creation time and by release time (sorted sets).</summary>
    private readonly RedisKey _byCreated;
    private readonly RedisKey _byReleased;

    public string Description { get; }

    /// <summary>
    /// Connects lazily: a Redis that is down at start-up is retried in the background. A Redis that answers
    /// but refuses this node (wrong or missing password, an untrusted certificate) is reported in
    /// <see cref="AuthenticationProblem"/>, so `jvpn up` can stop with that reason instead of retrying forever.
    /// </summary>
    public static RedisSessionStore Connect(StoreUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        StoreAccess access = url.Access;
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
            User = access.User ?? url.User,
            Password = access.Password,
        };
        options.EndPoints.Add(url.Host, url.Port);
        var tls = new StoreTlsCheck(access.CaFile);
        if (url.Tls)
        {
            options.Ssl = true;
            options.SslHost = access.ServerName ?? url.Host;
            options.CertificateValidation += tls.Validate;
            if (access.CertFile is not null && access.KeyFile is not null)
            {
                string cert = access.CertFile;
                string key = access.KeyFile;
                options.CertificateSelection += (_, _, _, _, _) => X509Certificate2.CreateFromPemFile(cert, key);
            }
        }
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        ConnectionMultiplexer redis = ConnectionMultiplexer.Connect(options, writer);
        var store = new RedisSessionStore(redis, url.Prefix, url.Database, url.ToString());
        if (!redis.IsConnected)
        {
            store.AuthenticationProblem = tls.Problem ?? Explain(RefusalIn(store, writer.ToString()), access);
        }
        return store;
    }

    /// <summary>
    /// Why the store refused this node at connect time ("WRONGPASS ...", "NOAUTH ...", "the server's
    /// certificate ..."), or null when it accepted it or merely did not answer (that is retried).
    /// </summary>
    public string? AuthenticationProblem { get; private set; }

    private static string? RefusalIn(RedisSessionStore store, string connectLog)
    {
        try
        {
            store.Db.Ping();
            return null;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return ex is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } || ServerRefusal(ex.ToString() + "\n" + connectLog) is not null
                ? ServerRefusal(connectLog + "\n" + ex) ?? "authentication failed (check the user and password: StoreUser / StorePasswordFile)"
                : null;
        }
    }

    /// <summary>
    /// The refusal with what to change. The client library pipelines AUTH with its first commands, so a
    /// wrong password usually surfaces as those commands' NOAUTH rather than as WRONGPASS.
    /// </summary>
    private static string? Explain(string? refusal, StoreAccess access) => refusal switch
    {
        null => null,
        _ when refusal.StartsWith("WRONGPASS", StringComparison.Ordinal) || (refusal.StartsWith("NOAUTH", StringComparison.Ordinal) && access.Password is not null) =>
            $"the user and password were not accepted (check StoreUser and the first line of StorePasswordFile or ${StoreAccess.PasswordVariable}); Redis said: {refusal}",
        _ when refusal.StartsWith("NOAUTH", StringComparison.Ordinal) || refusal.StartsWith("DENIED", StringComparison.Ordinal) =>
            $"Redis requires a password: set [Jumping] StorePasswordFile (chmod 600) or ${StoreAccess.PasswordVariable}; Redis said: {refusal}",
        _ => refusal,
    };

    /// <summary>
    /// The server's own refusal line ("WRONGPASS invalid username-password pair ...") out of the client
    /// library's text, most specific first: a wrong password also makes later commands answer NOAUTH.
    /// </summary>
    private static string? ServerRefusal(string text)
    {
        foreach (string word in (ReadOnlySpan<string>)["WRONGPASS", "NOPERM", "DENIED", "NOAUTH"])
        {
            int at = text.IndexOf(word, StringComparison.Ordinal);
            if (at >= 0)
            {
                string line = text[at..].Split('\n', 2)[0].Trim();
                return line.Length > 200 ? line[..200] : line;
            }
        }
        return null;
    }

    private IDatabase Db => _redis.GetDatabase(_db);

    private RedisKey Key(SessionId id) => _prefix + ":s:" + id.ToString();

    public StoreResult Create(OwnershipRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var args = new List<RedisValue> { record.Id.ToString() };
        AddFields(args, record);
        return Run(RedisScripts.Create, [Key(record.Id), _sessionSet, _byCreated], [.. args]);
    }

    public StoreResult Read(SessionId id) => Run(RedisScripts.Read, [Key(id)], []);

    public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs)
    {
        ArgumentNullException.ThrowIfNull(next);
        var args = new List<RedisValue>
        {
            Num(expectedVersion), next.OwnerNode, Num(next.OwnerNodeEpoch), Num(next.OwnerEpoch), next.State == SessionState.Terminated ? "1" : "0",
            Math.Max(1, tombstoneMs), next.Id.ToString(),
        };
        AddFields(args, next);
        return Run(RedisScripts.CompareAndSwap, [Key(next.Id), _sessionSet, _byCreated, _byReleased], [.. args]);
    }

    public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected) =>
        Run(RedisScripts.Acquire, [Key(id), _nodes],
        [
            node, Num(nodeEpoch), expected.OwnerNode, Num(expected.OwnerNodeEpoch), Num(expected.OwnerEpoch), Num(expected.StateVersion),
            Num(expected.StaleBeat.NodeEpoch), Num(expected.StaleBeat.Beat),
        ]);

    public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch) =>
        Run(RedisScripts.Release, [Key(id), _byReleased], [node, Num(nodeEpoch), Num(epoch), id.ToString()]);

    /// <summary>All reads sent at once on the one connection (pipelined), then their replies collected.</summary>
    public IReadOnlyList<StoreResult> ReadMany(IReadOnlyList<SessionId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        IDatabase db = Db;
        var pending = new Task<RedisResult>?[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            pending[i] = Send(() => db.ScriptEvaluateAsync(RedisScripts.Read, [Key(ids[i])], []));
        }
        return Collect(pending, ids);
    }

    /// <summary>All releases sent at once on the one connection (pipelined); each keeps its own condition (RedisScripts.Release).</summary>
    public IReadOnlyList<StoreResult> ReleaseMany(IReadOnlyList<ReleaseRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        IDatabase db = Db;
        var pending = new Task<RedisResult>?[requests.Count];
        var ids = new SessionId[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            ReleaseRequest r = requests[i];
            ids[i] = r.Id;
            pending[i] = Send(() => db.ScriptEvaluateAsync(RedisScripts.Release, [Key(r.Id), _byReleased], [r.Node, Num(r.NodeEpoch), Num(r.Epoch), r.Id.ToString()]));
        }
        return Collect(pending, ids);
    }

    private Task<RedisResult>? Send(Func<Task<RedisResult>> call)
    {
        try
        {
            return call();
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return null;
        }
    }

    private StoreResult[] Collect(Task<RedisResult>?[] pending, IReadOnlyList<SessionId> ids)
    {
        var results = new StoreResult[pending.Length];
        for (int i = 0; i < pending.Length; i++)
        {
            if (pending[i] is not { } task)
            {
                results[i] = StoreResult.Unavailable;
                continue;
            }
            try
            {
                results[i] = Decode((RedisResult[])task.GetAwaiter().GetResult()!, ids[i]);
            }
            catch (Exception ex) when (IsUnavailable(ex))
            {
                LastError = ex.Message;
                results[i] = StoreResult.Unavailable;
            }
        }
        return results;
    }

    /// <summary>One script ends the due records (<see cref="RedisScripts.Reap"/>); the tombstones are then read back in one pipelined batch.</summary>
    public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule)
    {
        RedisResult[] r;
        try
        {
            r = (RedisResult[])Db.ScriptEvaluate(RedisScripts.Reap, [_byCreated, _byReleased, _sessionSet],
            [
                _prefix + ":s:", rule.LifetimeMs, rule.ReleasedMs, Math.Max(1, rule.TombstoneMs), Math.Max(1, rule.Max),
                (int)SessionState.Terminated, (int)ReasonCode.SessionTtlExpired, (int)ReasonCode.TransportLossTtlExpired,
            ])!;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return null;
        }
        var ids = new List<SessionId>(Math.Max(0, r.Length - 1));
        for (int i = 1; i < r.Length; i++)
        {
            if (SessionId.TryParse(r[i].ToString(), out SessionId id))
            {
                ids.Add(id);
            }
        }
        var ended = new List<OwnershipRecord>(ids.Count);
        foreach (StoreResult read in ReadMany(ids))
        {
            if (read is { Status: StoreStatus.Ok, Current: { } rec })
            {
                ended.Add(rec);
            }
        }
        return ended;
    }

    public IReadOnlyList<OwnershipRecord> ListSessions()
    {
        try
        {
            RedisValue[] members = Db.SetMembers(_sessionSet);
            var ids = new List<SessionId>(members.Length);
            var raw = new List<RedisValue>(members.Length);
            foreach (RedisValue v in members)
            {
                if (SessionId.TryParse(v.ToString(), out SessionId id))
                {
                    ids.Add(id);
                    raw.Add(v);
                }
            }
            // One pipelined batch of reads instead of a round trip per session (a drain's listing of 10 000).
            IReadOnlyList<StoreResult> reads = ReadMany(ids);
            var list = new List<OwnershipRecord>(ids.Count);
            for (int i = 0; i < reads.Count; i++)
            {
                if (reads[i] is { Status: StoreStatus.Ok, Current: { } r })
                {
                    list.Add(r);
                }
                else if (reads[i].Status == StoreStatus.NotFound)
                {
                    Db.SetRemove(_sessionSet, raw[i]); // the record expired (see RedisScripts): forget its id too
                }
            }
            return list;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return [];
        }
    }

    public ulong RegisterNode(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            long epoch = Db.HashIncrement(_nodeEpochs, node);
            return epoch > 0 ? (ulong)epoch : 0;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return 0;
        }
    }

    public bool Heartbeat(ClusterNodeInfo beat)
    {
        ArgumentNullException.ThrowIfNull(beat);
        return Run(RedisScripts.Heartbeat, [_nodes], [beat.NodeId, Num(beat.NodeEpoch), Num(beat.Beat), beat.Draining ? "1" : "0", beat.Endpoint]).IsOk;
    }

    /// <summary>Every heartbeat record; an entry that does not decode (<see cref="NodeBeatCodec"/>) is not a node and is left out.</summary>
    public IReadOnlyList<ClusterNodeInfo>? ListNodes()
    {
        HashEntry[] entries;
        try
        {
            entries = Db.HashGetAll(_nodes);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return null;
        }
        var nodes = new List<ClusterNodeInfo>(entries.Length);
        foreach (HashEntry e in entries)
        {
            if (NodeBeatCodec.TryDecode(e.Name.ToString(), e.Value.ToString(), out ClusterNodeInfo? n, out _))
            {
                nodes.Add(n);
            }
        }
        nodes.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        return nodes;
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
        RedisResult[] r;
        try
        {
            r = (RedisResult[])Db.ScriptEvaluate(script, keys, args)!;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return StoreResult.Unavailable;
        }
        return Decode(r, keys.Length > 0 && keys[0] != _nodes ? IdOf(keys[0]) : null);
    }

    /// <summary>
    /// A script's reply: status, store clock, previous owner, then the record's fields. Every part is
    /// checked (the reply is only as trustworthy as whoever last wrote the hash); anything off is
    /// <see cref="StoreStatus.Malformed"/>, never an exception.
    /// </summary>
    internal static StoreResult Decode(RedisResult[] r, SessionId? id)
    {
        if (r.Length < 3 || r[0].IsNull || r[1].IsNull)
        {
            return StoreResult.Malformed("a store reply with fewer than three parts");
        }
        string status = r[0].ToString();
        if (!long.TryParse(r[1].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out long now) || now >= StoreRecordCheck.MaxUnixMs)
        {
            return StoreResult.Malformed("store clock " + StoreRecordCheck.Excerpt(r[1].ToString()) + " is not Unix ms");
        }
        string previous = r[2].IsNull ? "" : r[2].ToString();
        if (previous.Length > 0 && StoreRecordCheck.NodeIdProblem(previous) is { } badPrevious)
        {
            return StoreResult.Malformed("previous owner: " + badPrevious, now);
        }
        StoreStatus? s = status switch
        {
            "OK" => StoreStatus.Ok,
            "NOT_FOUND" => StoreStatus.NotFound,
            "ALREADY_EXISTS" => StoreStatus.AlreadyExists,
            "STALE_STATE_VERSION" => StoreStatus.StaleStateVersion,
            "OWNERSHIP_CONFLICT" => StoreStatus.OwnershipConflict,
            "OWNER_ALIVE" => StoreStatus.OwnerAlive,
            _ => null,
        };
        if (s is null)
        {
            return StoreResult.Malformed("unknown script status " + StoreRecordCheck.Excerpt(status), now);
        }
        OwnershipRecord? record = null;
        if (r.Length > 3 && id is { } sessionId)
        {
            if ((r.Length - 3) % 2 != 0 || r.Length - 3 > 64)
            {
                return StoreResult.Malformed("a session hash with an odd or excessive field count", now);
            }
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 3; i + 1 < r.Length; i += 2)
            {
                map[r[i].ToString()] = r[i + 1].ToString();
            }
            if (!TryFromFields(sessionId, map, out record, out string? problem))
            {
                return StoreResult.Malformed(problem, now);
            }
            if (StoreRecordCheck.Problem(record) is { } invalid)
            {
                return StoreResult.Malformed(invalid, now);
            }
        }
        return new StoreResult(s.Value, record, now, previous);
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

    /// <summary>The record's fields except owner epoch and the released marker, which only create/acquire/release change.</summary>
    private static void AddFields(List<RedisValue> args, OwnershipRecord r)
    {
        args.AddRange(
        [
            "peer", r.PeerKey, "owner", r.OwnerNode, "nepoch", Num(r.OwnerNodeEpoch), "state", (int)r.State, "ver", Num(r.StateVersion),
            "bav", Num(r.BoundAtVersion), "bind", r.Binding, "inner", r.InnerAddresses, "pol", r.PolicyVersion,
            "created", Num(r.CreatedUnixMs), "unbound", Num(r.UnboundSinceUnixMs), "sw", r.TotalSwitches,
            "hw", Num(r.CtrlSeqHighWater), "reason", (int)r.LastReason,
        ]);
    }

    /// <summary>The record in a session hash; false with the first field that is missing or not a number in range.</summary>
    internal static bool TryFromFields(SessionId id, Dictionary<string, string> f, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OwnershipRecord? record, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        record = null;
        string Get(string k) => f.TryGetValue(k, out string? v) ? v : "";
        long[] signed = new long[7];
        string[] signedKeys = ["nepoch", "state", "created", "unbound", "sw", "reason", "epoch"];
        for (int i = 0; i < signedKeys.Length; i++)
        {
            string k = signedKeys[i];
            if (k == "unbound" && !f.ContainsKey(k))
            {
                signed[i] = -1;
                continue;
            }
            if (!long.TryParse(Get(k), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out signed[i]))
            {
                problem = "field " + k + " = " + StoreRecordCheck.Excerpt(Get(k)) + " is not an integer";
                return false;
            }
        }
        ulong[] unsigned = new ulong[3];
        string[] unsignedKeys = ["ver", "bav", "hw"];
        for (int i = 0; i < unsignedKeys.Length; i++)
        {
            if (!ulong.TryParse(Get(unsignedKeys[i]), NumberStyles.None, CultureInfo.InvariantCulture, out unsigned[i]))
            {
                problem = "field " + unsignedKeys[i] + " = " + StoreRecordCheck.Excerpt(Get(unsignedKeys[i])) + " is not an unsigned integer";
                return false;
            }
        }
        if (signed[0] < 0 || signed[1] is < 0 or > byte.MaxValue || signed[4] is < 0 or > int.MaxValue || signed[5] is < 0 or > ushort.MaxValue || signed[6] < 0)
        {
            problem = "node epoch, state, switch count, reason or epoch out of range";
            return false;
        }
        string released = Get("rel");
        if (released is not ("0" or "1"))
        {
            problem = "field rel = " + StoreRecordCheck.Excerpt(released) + " is not 0 or 1";
            return false;
        }
        record = new OwnershipRecord
        {
            Id = id,
            PeerKey = Get("peer"),
            OwnerNode = Get("owner"),
            OwnerNodeEpoch = (ulong)signed[0],
            OwnerEpoch = (ulong)signed[6],
            Released = released == "1",
            State = (SessionState)signed[1],
            StateVersion = unsigned[0],
            BoundAtVersion = unsigned[1],
            Binding = Get("bind"),
            InnerAddresses = Get("inner"),
            PolicyVersion = Get("pol"),
            CreatedUnixMs = signed[2],
            UnboundSinceUnixMs = signed[3],
            TotalSwitches = (int)signed[4],
            CtrlSeqHighWater = unsigned[2],
            LastReason = (ReasonCode)signed[5],
        };
        problem = null;
        return true;
    }

    /// <summary>GET and DEL of a drain request in one script: exactly one taker sees it.</summary>
    private const string TakeDrainScript = "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) return 1 end return 0";

    private RedisKey DrainKey(string node) => _prefix + ":drain:" + node;

    public bool RequestDrain(string node, long ttlMs)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            return Db.StringSet(DrainKey(node), "1", TimeSpan.FromMilliseconds(Math.Max(1, ttlMs)));
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return false;
        }
    }

    public bool TakeDrainRequest(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            return (long)Db.ScriptEvaluate(TakeDrainScript, [DrainKey(node)]) == 1;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            return false;
        }
    }
}
