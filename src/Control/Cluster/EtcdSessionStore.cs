using System.Diagnostics;
using System.Globalization;
using System.Text;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using JumpingVpn.Control.Sessions;
using Mvccpb;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The shared store of a cluster (docs/design.md §6) on etcd v3 (docs/cluster.md "etcd"): one key per session
/// under `PREFIX/s/`, its value the record (<see cref="EtcdRecordCodec"/>). etcd commits every write through
/// Raft before it answers, so an acknowledged ownership transfer survives the loss of any minority of
/// members. Every mutation is read, decide, then one transaction that writes only if the key's
/// mod_revision is still the one read (or, for a create, the key does not exist); a transaction that lost
/// re-decides on the record it got back, so the rules are those of <see cref="InMemorySessionStore"/>.
/// Node liveness needs no clock in the store (docs/cluster.md "Node liveness"): each node's heartbeat is a key
/// under `PREFIX/n/` (<see cref="NodeBeatCodec"/>), and an acquire is one transaction comparing the session key's
/// mod_revision and the owner's heartbeat key's mod_revision with the ones the decision was made on. The only
/// times here are the tombstone removal times, on this node's clock (<see cref="TimeProvider"/>). Every call is
/// bounded by the operation timeout and fails closed (<see cref="StoreStatus.Unavailable"/>), never with an exception.
/// </summary>
public sealed class EtcdSessionStore : ISessionStore, IStoreAuthentication
{
    private readonly EtcdConnection _etcd;
    private readonly TimeProvider _time;
    private readonly int _timeoutMs;
    private readonly string _sessions;
    private readonly string _nodes;
    private readonly string _nodeEpochs;
    private readonly string _peers;
    private readonly ByteString _pingKey;

    /// <summary>
    /// docs/cluster.md "Record expiry": index keys `PREFIX/x/c/CREATED/ID` (written with the record by Create) and
    /// `PREFIX/x/r/RELEASED/ID` (written with the record by Release, so both carry the release's revision), times on the
    /// writing node's clock as 15-digit Unix ms so that key order is time order and a range read returns exactly the due
    /// ones. An entry goes when it is due (the record's tombstone removal leaves it to that).
    /// </summary>
    private readonly string _byCreated;
    private readonly string _byReleased;

    private EtcdSessionStore(EtcdConnection etcd, StoreUrl url, TimeProvider time)
    {
        _etcd = etcd;
        _time = time;
        _timeoutMs = url.TimeoutMs;
        _sessions = url.Prefix + "/s/";
        _nodes = url.Prefix + "/n/";
        _nodeEpochs = url.Prefix + "/e/";
        _peers = url.Prefix + "/p/";
        _pingKey = Key(url.Prefix + "/ping");
        _byCreated = url.Prefix + "/x/c/";
        _byReleased = url.Prefix + "/x/r/";
        Description = url.ToString();
    }

    public string Description { get; }

    public string? AuthenticationProblem { get; private set; }

    /// <summary>Why the last operation counted as unavailable (for logs and tests).</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// Opens the channel and makes one call: an etcd that answers but refuses this node (wrong or missing
    /// user and password, no permission on the prefix, an untrusted certificate) is reported in
    /// <see cref="AuthenticationProblem"/>; one that does not answer is retried by later calls.
    /// </summary>
    public static EtcdSessionStore Connect(StoreUrl url, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        var store = new EtcdSessionStore(EtcdConnection.Open(url), url, time ?? TimeProvider.System);
        if (url.Access.Password is not null && (url.Access.User ?? url.User) is null)
        {
            store.AuthenticationProblem = "etcd authenticates a user: name it with [Jumping] StoreUser or etcd://USER@HOST";
            return store;
        }
        try
        {
            store.Call((c, h, d) => c.Get(new RangeRequest { Key = store._pingKey, CountOnly = true }, h, d));
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            store.AuthenticationProblem = store._etcd.Tls?.Problem ?? Refusal(ex, url.Prefix);
            store.LastError = ex.Message;
        }
        return store;
    }

    /// <summary>The refusal with what to change, or null for a store that merely did not answer.</summary>
    private static string? Refusal(Exception ex, string prefix)
    {
        if (ex is not RpcException rpc)
        {
            return null;
        }
        string said = rpc.Status.Detail.Length > 200 ? rpc.Status.Detail[..200] : rpc.Status.Detail;
        return said switch
        {
            _ when said.Contains("invalid user ID or password", StringComparison.Ordinal) =>
                $"the user and password were not accepted (check StoreUser and the first line of StorePasswordFile or ${StoreAccess.PasswordVariable}); etcd said: {said}",
            _ when said.Contains("user name is empty", StringComparison.Ordinal) || said.Contains("invalid auth token", StringComparison.Ordinal) =>
                $"etcd requires a user and password: set [Jumping] StoreUser and StorePasswordFile (chmod 600) or ${StoreAccess.PasswordVariable}; etcd said: {said}",
            _ when rpc.StatusCode == StatusCode.PermissionDenied =>
                $"the user may not read and write the key prefix '{prefix}/' (grant its role readwrite on that prefix); etcd said: {said}",
            _ => null,
        };
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static ByteString Key(string key) => ByteString.CopyFromUtf8(key);

    private ByteString KeyOf(SessionId id) => Key(_sessions + id.ToString());

    private T Call<T>(Func<dotnet_etcd.EtcdClient, Metadata?, DateTime, T> call) =>
        _etcd.Call(call, DateTime.UtcNow.AddMilliseconds(_timeoutMs));

    public StoreResult Create(OwnershipRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ByteString key = KeyOf(record.Id);
        return Guarded(() =>
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(_timeoutMs);
            long? expiredRevision = null;
            while (true)
            {
                long now = Now();
                OwnershipRecord created = record with { OwnerEpoch = 1, Released = false };
                var txn = new TxnRequest();
                txn.Compare.Add(expiredRevision is { } rev
                    ? new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = rev }
                    : new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = EtcdRecordCodec.Encode(created, EtcdRecordCodec.KeepForever) } });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = CreatedIndexKey(created.Id, now) } });
                txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
                TxnResponse r = _etcd.Call((c, h, d) => c.Transaction(txn, h, d), deadline);
                if (r.Succeeded)
                {
                    return new StoreResult(StoreStatus.Ok, created, now);
                }
                Stored current = Decode(record.Id, FirstKv(r), now);
                if (current.Failed is { } failed)
                {
                    return failed;
                }
                if (current.Record is { } live)
                {
                    return new StoreResult(StoreStatus.AlreadyExists, live, now);
                }
                // The key holds a record past its removal time: it counts as gone, replace exactly that one.
                expiredRevision = current.Revision;
                ThrowIfPast(deadline);
            }
        });
    }

    public StoreResult Read(SessionId id) => Guarded(() =>
    {
        long now = Now();
        RangeResponse r = Call((c, h, d) => c.Get(new RangeRequest { Key = KeyOf(id) }, h, d));
        Stored s = Decode(id, r.Kvs.Count > 0 ? r.Kvs[0] : null, now);
        if (s.Failed is { } failed)
        {
            return failed;
        }
        if (s.Record is null && s.Revision > 0)
        {
            DeleteIfUnchanged(KeyOf(id), s.Revision);
        }
        return s.Record is { } rec ? new StoreResult(StoreStatus.Ok, rec, now) : new StoreResult(StoreStatus.NotFound, null, now);
    });

    /// <summary>Reads sent concurrently on the one gRPC channel (at most <see cref="BatchParallelism"/> in flight).</summary>
    public IReadOnlyList<StoreResult> ReadMany(IReadOnlyList<SessionId> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var results = new StoreResult[ids.Count];
        Parallel.For(0, ids.Count, new ParallelOptions { MaxDegreeOfParallelism = BatchParallelism }, i => results[i] = Read(ids[i]));
        return results;
    }

    /// <summary>Releases (each its own read and compare-on-mod-revision transaction) sent concurrently, at most <see cref="BatchParallelism"/> in flight.</summary>
    public IReadOnlyList<StoreResult> ReleaseMany(IReadOnlyList<ReleaseRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new StoreResult[requests.Count];
        Parallel.For(0, requests.Count, new ParallelOptions { MaxDegreeOfParallelism = BatchParallelism },
            i => results[i] = Release(requests[i].Id, requests[i].Node, requests[i].NodeEpoch, requests[i].Epoch));
        return results;
    }

    /// <summary>Calls of one batch in flight at once: enough to hide the round trip, few enough to leave the node's other store calls room.</summary>
    private const int BatchParallelism = 16;

    public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs)
    {
        ArgumentNullException.ThrowIfNull(next);
        return Update(next.Id, (cur, removeAt, now) =>
        {
            if (cur.Released || !string.Equals(cur.OwnerNode, next.OwnerNode, StringComparison.Ordinal) || cur.OwnerNodeEpoch != next.OwnerNodeEpoch || cur.OwnerEpoch != next.OwnerEpoch)
            {
                return new Decision(StoreStatus.OwnershipConflict);
            }
            if (cur.StateVersion != expectedVersion)
            {
                return new Decision(StoreStatus.StaleStateVersion);
            }
            return new Decision(StoreStatus.Ok, next with { Released = false },
                next.State == SessionState.Terminated ? now + Math.Max(1, tombstoneMs) : removeAt);
        });
    }

    /// <summary>
    /// Reads the record, then its owner's heartbeat key, decides with <see cref="TakeoverRule"/>, and
    /// writes in one transaction that compares both keys' mod_revisions with the snapshot's (an absent heartbeat:
    /// still absent). A lost transaction re-reads both and decides again, until the operation deadline.
    /// </summary>
    public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected)
    {
        ArgumentNullException.ThrowIfNull(node);
        ByteString key = KeyOf(id);
        return Guarded(() =>
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(_timeoutMs);
            while (true)
            {
                long now = Now();
                RangeResponse read = _etcd.Call((c, h, d) => c.Get(new RangeRequest { Key = key }, h, d), deadline);
                Stored s = Decode(id, read.Kvs.Count > 0 ? read.Kvs[0] : null, now);
                if (s.Failed is { } failed)
                {
                    return failed;
                }
                if (s.Record is not { } cur)
                {
                    return new StoreResult(StoreStatus.NotFound, null, now);
                }
                ByteString beatKey = Key(_nodes + cur.OwnerNode);
                // A released record may be taken whatever its owner's heartbeat says (TakeoverRule), and the
                // transaction's compare on the record's mod revision already guards that it is still released:
                // a drained session's acquire reads no heartbeat (one round trip less, docs/cluster.md "Drain").
                KeyValue? beatKv = null;
                if (!cur.Released)
                {
                    RangeResponse beatRead = _etcd.Call((c, h, d) => c.Get(new RangeRequest { Key = beatKey }, h, d), deadline);
                    beatKv = beatRead.Kvs.Count > 0 ? beatRead.Kvs[0] : null;
                }
                ClusterNodeInfo? beat = null;
                if (beatKv is not null && !NodeBeatCodec.TryDecode(cur.OwnerNode, beatKv.Value.ToStringUtf8(), out beat, out _))
                {
                    // An undecodable heartbeat proves nothing about the owner: never a reason to take over.
                    return new StoreResult(StoreStatus.OwnerAlive, cur, now);
                }
                StoreStatus decided = TakeoverRule.Decide(cur, beat, node, nodeEpoch, expected);
                if (decided != StoreStatus.Ok)
                {
                    return new StoreResult(decided, cur, now);
                }
                OwnershipRecord next = cur with { OwnerNode = node, OwnerNodeEpoch = nodeEpoch, OwnerEpoch = cur.OwnerEpoch + 1, Released = false };
                var txn = new TxnRequest();
                txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = s.Revision });
                if (!cur.Released)
                {
                    txn.Compare.Add(beatKv is null
                    ? new Compare { Key = beatKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
                    : new Compare { Key = beatKey, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = beatKv.ModRevision });
                }
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = EtcdRecordCodec.Encode(next, s.RemoveAtUnixMs) } });
                TxnResponse r = _etcd.Call((c, h, d) => c.Transaction(txn, h, d), deadline);
                if (r.Succeeded)
                {
                    return new StoreResult(StoreStatus.Ok, next, now, cur.OwnerNode);
                }
                ThrowIfPast(deadline);
            }
        });
    }

    public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch) => Update(id, (cur, removeAt, now) =>
        !string.Equals(cur.OwnerNode, node, StringComparison.Ordinal) || cur.OwnerNodeEpoch != nodeEpoch || cur.OwnerEpoch != epoch
            ? new Decision(StoreStatus.OwnershipConflict)
            : new Decision(StoreStatus.Ok, cur with { Released = true }, removeAt,
                Extra: new RequestOp { RequestPut = new PutRequest { Key = Key(_byReleased + Stamp(now) + "/" + id.ToString()) } }));

    /// <summary>What a rule decided on the current record: refuse with a status, or write <see cref="Next"/> (and <see cref="Extra"/> in the same transaction).</summary>
    private readonly record struct Decision(StoreStatus Status, OwnershipRecord? Next = null, long RemoveAtUnixMs = 0, string PreviousOwner = "", RequestOp? Extra = null);

    private static string Stamp(long unixMs) => Math.Max(0, unixMs).ToString("D15", CultureInfo.InvariantCulture);

    private ByteString CreatedIndexKey(SessionId id, long createdUnixMs) => Key(_byCreated + Stamp(createdUnixMs) + "/" + id.ToString());

    /// <summary>The due entries of both indexes, each ended in one transaction on the record's and the entry's revisions.</summary>
    public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule)
    {
        try
        {
            long now = Now();
            var ended = new List<OwnershipRecord>();
            ReapIndex(_byCreated, now - rule.LifetimeMs, released: false, rule, now, ended);
            ReapIndex(_byReleased, now - rule.ReleasedMs, released: true, rule, now, ended);
            return ended;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return null;
        }
    }

    /// <summary>
    /// Reads at most Max index entries up to <paramref name="cutoff"/> (one range read: O(due)), and for each: the record
    /// still due (not terminated; for a release entry, still released by the release that wrote it, i.e. unchanged
    /// since: same revision) becomes a tombstone and the entry goes, in one transaction that compares
    /// both revisions, so two nodes sweeping at once end it once; an entry whose record is no longer due just goes.
    /// </summary>
    private void ReapIndex(string index, long cutoff, bool released, RecordExpiry rule, long now, List<OwnershipRecord> ended)
    {
        if (cutoff < 0)
        {
            return;
        }
        RangeResponse due = Call((c, h, d) => c.Get(new RangeRequest { Key = Key(index), RangeEnd = Key(index + Stamp(cutoff + 1)), Limit = Math.Max(1, rule.Max) }, h, d));
        foreach (KeyValue entry in due.Kvs)
        {
            string name = entry.Key.ToStringUtf8();
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = entry.Key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = entry.ModRevision });
            txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = entry.Key } });
            if (SessionId.TryParse(name[(name.LastIndexOf('/') + 1)..], out SessionId id))
            {
                ByteString key = KeyOf(id);
                RangeResponse read = Call((c, h, d) => c.Get(new RangeRequest { Key = key }, h, d));
                Stored s = Decode(id, read.Kvs.Count > 0 ? read.Kvs[0] : null, now);
                if (s.Record is { State: not SessionState.Terminated } cur
                    && (!released || (cur.Released && s.Revision == entry.ModRevision)))
                {
                    OwnershipRecord tomb = RecordExpiry.Ended(cur, released ? ReasonCode.TransportLossTtlExpired : ReasonCode.SessionTtlExpired);
                    txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = s.Revision });
                    txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = EtcdRecordCodec.Encode(tomb, now + Math.Max(1, rule.TombstoneMs)) } });
                    if (Call((c, h, d) => c.Transaction(txn, h, d)).Succeeded)
                    {
                        ended.Add(tomb);
                    }
                    continue;
                }
            }
            _ = Call((c, h, d) => c.Transaction(txn, h, d));
        }
    }

    /// <summary>
    /// Read, decide, write iff the key's mod_revision is unchanged; a lost transaction brings back the
    /// record as it now is, and the rule decides again on that (until the operation deadline).
    /// </summary>
    private StoreResult Update(SessionId id, Func<OwnershipRecord, long, long, Decision> rule) => Guarded(() =>
    {
        DateTime deadline = DateTime.UtcNow.AddMilliseconds(_timeoutMs);
        ByteString key = KeyOf(id);
        RangeResponse read = _etcd.Call((c, h, d) => c.Get(new RangeRequest { Key = key }, h, d), deadline);
        KeyValue? kv = read.Kvs.Count > 0 ? read.Kvs[0] : null;
        while (true)
        {
            long now = Now();
            Stored s = Decode(id, kv, now);
            if (s.Failed is { } failed)
            {
                return failed;
            }
            if (s.Record is not { } cur)
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            Decision decision = rule(cur, s.RemoveAtUnixMs, now);
            if (decision.Status != StoreStatus.Ok || decision.Next is not { } next)
            {
                return new StoreResult(decision.Status, cur, now);
            }
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = s.Revision });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = EtcdRecordCodec.Encode(next, decision.RemoveAtUnixMs) } });
            if (decision.Extra is { } extra)
            {
                txn.Success.Add(extra);
            }
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
            TxnResponse r = _etcd.Call((c, h, d) => c.Transaction(txn, h, d), deadline);
            if (r.Succeeded)
            {
                return new StoreResult(StoreStatus.Ok, next, now, decision.PreviousOwner);
            }
            kv = FirstKv(r);
            ThrowIfPast(deadline);
        }
    });

    /// <summary>A key's content: a live record, nothing (absent, or past its removal time: Revision > 0), or a malformed answer.</summary>
    private readonly record struct Stored(OwnershipRecord? Record, long RemoveAtUnixMs, long Revision, StoreResult? Failed);

    private static Stored Decode(SessionId id, KeyValue? kv, long now)
    {
        if (kv is null)
        {
            return default;
        }
        if (!EtcdRecordCodec.TryDecode(id, kv.Value, out OwnershipRecord? record, out long removeAt, out string? problem))
        {
            return new Stored(null, 0, kv.ModRevision, StoreResult.Malformed(problem, now));
        }
        return removeAt > now ? new Stored(record, removeAt, kv.ModRevision, null) : new Stored(null, removeAt, kv.ModRevision, null);
    }

    private static KeyValue? FirstKv(TxnResponse r) =>
        r.Responses.Count > 0 && r.Responses[0].ResponseRange is { Kvs.Count: > 0 } range ? range.Kvs[0] : null;

    /// <summary>Removes a key past its removal time, unless someone wrote it since (best effort: a later read removes it too).</summary>
    private void DeleteIfUnchanged(ByteString key, long revision)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = revision });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
        _ = Try(() => Call((c, h, d) => c.Transaction(txn, h, d)));
    }

    public IReadOnlyList<OwnershipRecord> ListSessions()
    {
        try
        {
            long now = Now();
            RangeResponse r = Call((c, h, d) => c.Get(Prefix(_sessions), h, d));
            var list = new List<OwnershipRecord>(r.Kvs.Count);
            foreach (KeyValue kv in r.Kvs)
            {
                if (!SessionId.TryParse(kv.Key.ToStringUtf8()[_sessions.Length..], out SessionId id))
                {
                    continue;
                }
                Stored s = Decode(id, kv, now);
                if (s.Record is { } rec && rec.State != SessionState.Terminated)
                {
                    list.Add(rec);
                }
                else if (s is { Record: null, Failed: null })
                {
                    DeleteIfUnchanged(kv.Key, kv.ModRevision); // past its removal time: the store's garbage collection
                }
            }
            return list;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return [];
        }
    }

    /// <summary>The per-node counter under `PREFIX/e/`: read, then +1 in a transaction on its mod_revision (retried until the deadline).</summary>
    public ulong RegisterNode(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        ByteString key = Key(_nodeEpochs + node);
        try
        {
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(_timeoutMs);
            while (true)
            {
                RangeResponse read = _etcd.Call((c, h, d) => c.Get(new RangeRequest { Key = key }, h, d), deadline);
                KeyValue? kv = read.Kvs.Count > 0 ? read.Kvs[0] : null;
                ulong current = 0;
                if (kv is not null && !ulong.TryParse(kv.Value.ToStringUtf8(), NumberStyles.None, CultureInfo.InvariantCulture, out current))
                {
                    LastError = "node epoch counter of " + StoreRecordCheck.Excerpt(node) + " is not a number";
                    return 0;
                }
                ulong next = current + 1;
                var txn = new TxnRequest();
                txn.Compare.Add(kv is null
                    ? new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
                    : new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = kv.ModRevision });
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(next.ToString(CultureInfo.InvariantCulture)) } });
                if (_etcd.Call((c, h, d) => c.Transaction(txn, h, d), deadline).Succeeded)
                {
                    return next;
                }
                ThrowIfPast(deadline);
            }
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return 0;
        }
    }

    /// <summary>
    /// A plain put: etcd cannot compare a number inside a value, so a late beat of an older incarnation may land
    /// over a newer one's; it changes the value, which observers count as activity, never as death. The key carries
    /// no etcd lease: a keep-alive per beat would double each beat's round trips, and against a slow store (300 ms
    /// per round trip, docs/cluster.md "Slow store") the beats would then come too late for the node's own validity.
    /// </summary>
    public bool Heartbeat(ClusterNodeInfo beat)
    {
        ArgumentNullException.ThrowIfNull(beat);
        string value = NodeBeatCodec.Encode(beat, Now());
        return Try(() => Call((c, h, d) => c.Put(new PutRequest { Key = Key(_nodes + beat.NodeId), Value = ByteString.CopyFromUtf8(value) }, h, d)));
    }

    public IReadOnlyList<ClusterNodeInfo>? ListNodes()
    {
        var nodes = new List<ClusterNodeInfo>();
        try
        {
            RangeResponse r = Call((c, h, d) => c.Get(Prefix(_nodes), h, d));
            foreach (KeyValue kv in r.Kvs)
            {
                // An entry that does not decode is not a node.
                if (NodeBeatCodec.TryDecode(kv.Key.ToStringUtf8()[_nodes.Length..], kv.Value.ToStringUtf8(), out ClusterNodeInfo? n, out _))
                {
                    nodes.Add(n);
                }
            }
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return null;
        }
        nodes.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        return nodes;
    }

    public bool PutPeer(RegisteredPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return Try(() => Call((c, h, d) => c.Put(new PutRequest { Key = Key(_peers + peer.PublicKey), Value = ByteString.CopyFromUtf8(peer.AllowedIps) }, h, d)));
    }

    public IReadOnlyList<RegisteredPeer> ListPeers()
    {
        try
        {
            RangeResponse r = Call((c, h, d) => c.Get(Prefix(_peers), h, d));
            var peers = new List<RegisteredPeer>(r.Kvs.Count);
            foreach (KeyValue kv in r.Kvs)
            {
                peers.Add(new RegisteredPeer(kv.Key.ToStringUtf8()[_peers.Length..], kv.Value.ToStringUtf8()));
            }
            peers.Sort((a, b) => string.CompareOrdinal(a.PublicKey, b.PublicKey));
            return peers;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return [];
        }
    }

    /// <summary>A linearizable read of one key (it goes through the Raft leader), timed.</summary>
    public bool Ping(out double latencyMs)
    {
        var sw = Stopwatch.StartNew();
        bool ok = Try(() => Call((c, h, d) => c.Get(new RangeRequest { Key = _pingKey, CountOnly = true }, h, d)));
        latencyMs = sw.Elapsed.TotalMilliseconds;
        return ok;
    }

    public void Dispose() => _etcd.Dispose();

    /// <summary>Every key under <paramref name="prefix"/>: the range ends at the prefix with its last byte + 1.</summary>
    private static RangeRequest Prefix(string prefix)
    {
        byte[] end = Encoding.UTF8.GetBytes(prefix);
        end[^1]++;
        return new RangeRequest { Key = Key(prefix), RangeEnd = ByteString.CopyFrom(end) };
    }

    private StoreResult Guarded(Func<StoreResult> operation)
    {
        try
        {
            return operation();
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return StoreResult.Unavailable;
        }
    }

    private bool Try<T>(Func<T> call)
    {
        try
        {
            call();
            return true;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return false;
        }
    }

    private static void ThrowIfPast(DateTime deadline)
    {
        if (DateTime.UtcNow >= deadline)
        {
            throw new TimeoutException("the store kept changing the record until the operation timeout");
        }
    }

    /// <summary>
    /// Everything a call can fail with while etcd is away, slow, refusing or shutting down: counted as
    /// unavailable (fail closed), never thrown into the session layer.
    /// </summary>
    private static bool IsUnavailable(Exception ex) =>
        ex is RpcException or TimeoutException or OperationCanceledException or ObjectDisposedException or HttpRequestException or IOException
            or InvalidOperationException or AggregateException;

    private ByteString DrainKey(string node) => Key(DrainPrefix + node);

    /// <summary>`PREFIX/d/`, beside the node registry's `PREFIX/n/`.</summary>
    private string DrainPrefix => _nodes[..^"n/".Length] + "d/";

    /// <summary>The request's value is its expiry (Unix ms, this node's clock, as the node registry's).</summary>
    public bool RequestDrain(string node, long ttlMs)
    {
        ArgumentNullException.ThrowIfNull(node);
        string value = (Now() + ttlMs).ToString(CultureInfo.InvariantCulture);
        return Try(() => Call((c, h, d) => c.Put(new PutRequest { Key = DrainKey(node), Value = ByteString.CopyFromUtf8(value) }, h, d)));
    }

    /// <summary>One delete that returns what it deleted: exactly one taker sees the request.</summary>
    public bool TakeDrainRequest(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            DeleteRangeResponse r = Call((c, h, d) => c.Delete(new DeleteRangeRequest { Key = DrainKey(node), PrevKv = true }, h, d));
            return r.PrevKvs.Count == 1
                && long.TryParse(r.PrevKvs[0].Value.ToStringUtf8(), NumberStyles.None, CultureInfo.InvariantCulture, out long expires)
                && expires > Now();
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LastError = ex.Message;
            return false;
        }
    }
}
