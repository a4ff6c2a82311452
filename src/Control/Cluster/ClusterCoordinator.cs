using System.Collections.Concurrent;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// This node's side of the cluster (docs/design.md §6, docs/cluster.md "Node liveness"): its incarnation (node
/// epoch) and heartbeat, its own validity (self-fencing), its view of the other nodes' liveness
/// (<see cref="NodeLiveness"/>), the sessions it owns, and the store's health for metrics. One heartbeat loop
/// runs every <see cref="BeatEveryMs"/> (50 ms, whatever NodeTtl): it sends a beat and lists every node's
/// heartbeat, both off the loop thread, so a store answering late delays neither the next beat nor anything
/// else (at most <see cref="MaxBeatsInFlight"/> beats and one listing are outstanding). The node is valid until the send time of its last successful beat +
/// NodeTtl − <see cref="FenceMarginMs"/>; when that passes it is fenced for good under that node epoch, every
/// session it owned stops, and it registers a new node epoch once the store answers again. It decides nothing
/// about sessions itself: the session layer asks it to create, acquire and commit.
/// </summary>
public sealed class ClusterCoordinator : IDisposable
{
    /// <summary>
    /// docs/cluster.md "Node liveness": survivors may take a dead node's sessions 0.65-0.75 s after its death, and
    /// a node keeps serving through a store round trip of up to NodeTtl − <see cref="FenceMarginMs"/> −
    /// <see cref="DefaultBeatEveryMs"/> = 450 ms.
    /// </summary>
    public const long DefaultNodeTtlMs = 700;

    /// <summary>
    /// The heartbeat period (beat and listing), decoupled from NodeTtl (docs/cluster.md "Node liveness"): it
    /// bounds how late an observer sees the last beat of a dead node (takeover at NodeTtl ± one period) and how
    /// much of NodeTtl a store round trip may use (NodeTtl − margin − period). Two store calls per node per
    /// period: O(nodes), nothing per session.
    /// </summary>
    public const long DefaultBeatEveryMs = 50;

    /// <summary>Below this the store round trip a node survives (NodeTtl − margin − beat period) is under 50 ms.</summary>
    public const long MinNodeTtlMs = 300;

    /// <summary>
    /// How much earlier than a survivor may take over the node stops serving (docs/cluster.md "Fence margin"):
    /// the 50 ms sweep that removes routes, scheduling and GC pauses of the sweep thread, and the rate difference
    /// of two monotonic clocks over one NodeTtl.
    /// </summary>
    public const long FenceMarginMs = 200;

    /// <summary>
    /// Beats outstanding at once: enough that a beat goes out every period while the store takes up to
    /// NodeTtl − margin to answer (10 at the defaults); with more the store is too slow to keep the node valid
    /// anyway. Bounded to 4-16 (one store thread each).
    /// </summary>
    public int MaxBeatsInFlight { get; }

    private readonly ConcurrentDictionary<SessionId, OwnedSession> _owned = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _loop;
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread[] _workers;
    private readonly Lock _lock = new();
    private long _nodeEpoch;
    private long _validUntilMs = long.MinValue;
    private bool _armed;
    private bool _fenced;
    private ulong _beat;
    private int _beatsInFlight;
    private int _listInFlight;
    private int _registerInFlight;
    private long _fences;
    private long _beatsOk;
    private long _beatsFailed;
    private long _storeUp = 1;
    private long _lastLatencyMicros;
    private long _casOk;
    private long _casLost;
    private long _unavailable;
    private long _doubtsLanded;
    private long _doubtsNotLanded;
    private long _rejected;
    private long _rejectLoggedAtMs = long.MinValue;
    private long _rejectSuppressed;

    public ClusterCoordinator(ISessionStore store, string nodeId, long nodeTtlMs, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (nodeTtlMs < MinNodeTtlMs)
        {
            throw new ArgumentOutOfRangeException(nameof(nodeTtlMs), "NodeTtl must be at least 300ms");
        }
        Store = store;
        NodeId = nodeId;
        NodeTtlMs = nodeTtlMs;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        MaxBeatsInFlight = (int)Math.Clamp((nodeTtlMs - FenceMarginMs) / DefaultBeatEveryMs, 4, 16);
        Liveness = new NodeLiveness(nodeTtlMs, BeatEveryMs);
        _loop = new Thread(Loop) { IsBackground = true, Name = "jvpn-heartbeat" };
        _workers = new Thread[MaxBeatsInFlight + 3]; // + a listing, a registration and a record-expiry sweep
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(Work) { IsBackground = true, Name = "jvpn-store-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }
        Dispatch = _work.Add;
    }

    public ISessionStore Store { get; }

    public string NodeId { get; }

    public long NodeTtlMs { get; }

    /// <summary>The heartbeat loop's period: <see cref="DefaultBeatEveryMs"/>, shorter only if NodeTtl/4 is (never at NodeTtl >= 300 ms).</summary>
    public long BeatEveryMs => Math.Min(DefaultBeatEveryMs, NodeTtlMs / 4);

    /// <summary>Other nodes' liveness as this node observes it.</summary>
    public NodeLiveness Liveness { get; }

    /// <summary>The client-facing `ip:port` published in the heartbeat (what clients would dial), or empty.</summary>
    public string AdvertiseEndpoint { get; set; } = "";

    /// <summary>Published in the heartbeat: this node is moving its sessions away (docs/cluster.md "Node liveness": the draining flag).</summary>
    public bool Draining { get; set; }

    /// <summary>
    /// Runs store calls of the heartbeat loop. Default: this coordinator's own store threads, one per call that
    /// can be outstanding (<see cref="MaxBeatsInFlight"/> beats, a listing, a registration, a record-expiry sweep), so a slow store
    /// never holds the loop or waits behind anything. Not the thread pool: the store clients complete their
    /// calls on pool threads, and blocking calls made from pool threads starve it (seen as 1.5 s heartbeat
    /// stalls in a freshly started node). Tests run the calls inline for determinism.
    /// </summary>
    internal Action<Action> Dispatch { get; set; }

    /// <summary>The current incarnation (0 before the store first answered).</summary>
    public ulong NodeEpoch => (ulong)Interlocked.Read(ref _nodeEpoch);

    public bool StoreUp => Interlocked.Read(ref _storeUp) == 1;

    public double StoreLatencyMs => Interlocked.Read(ref _lastLatencyMicros) / 1000.0;

    public long CasCommitted => Interlocked.Read(ref _casOk);

    public long CasLost => Interlocked.Read(ref _casLost);

    public long StoreUnavailableCount => Interlocked.Read(ref _unavailable);

    /// <summary>Commits whose answer was lost and that the store turned out to hold (docs/cluster.md "In-doubt commits").</summary>
    public long DoubtsLanded => Interlocked.Read(ref _doubtsLanded);

    /// <summary>Commits whose answer was lost and that the store did not take (the session was taken again under a fresh owner_epoch).</summary>
    public long DoubtsNotLanded => Interlocked.Read(ref _doubtsNotLanded);

    internal void CountDoubt(bool landed) => Interlocked.Increment(ref landed ? ref _doubtsLanded : ref _doubtsNotLanded);

    /// <summary>Times this node fenced itself (its validity lapsed) since it started.</summary>
    public long Fences => Interlocked.Read(ref _fences);

    public long BeatsSucceeded => Interlocked.Read(ref _beatsOk);

    public long BeatsFailed => Interlocked.Read(ref _beatsFailed);

    /// <summary>Records, registry entries and replies from the store that failed validation and were dropped.</summary>
    public long RejectedRecords => Interlocked.Read(ref _rejected);

    /// <summary>Minimum time between two log lines about rejected store input (the rest are counted).</summary>
    public const long RejectLogIntervalMs = 10_000;

    public int OwnedCount => _owned.Count;

    public long NowMs() => _time.GetTimestamp() * 1000 / _time.TimestampFrequency;

    /// <summary>Until when (this node's monotonic ms) the current incarnation may serve; long.MinValue when it may not.</summary>
    public long ValidUntilMs => Interlocked.Read(ref _validUntilMs);

    /// <summary>May a session owned under <paramref name="nodeEpoch"/> be served at <paramref name="nowMs"/>? Lock-free (per frame).</summary>
    public bool IsValid(ulong nodeEpoch, long nowMs) => nodeEpoch != 0 && nodeEpoch == NodeEpoch && nowMs < ValidUntilMs;

    public void Start()
    {
        foreach (Thread w in _workers)
        {
            w.Start();
        }
        _loop.Start();
    }

    private void Work()
    {
        foreach (Action a in _work.GetConsumingEnumerable())
        {
            try
            {
                a();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _logger.LogError(ex, "cluster: store call of the heartbeat loop failed");
            }
        }
    }

    public bool TryGetOwned(SessionId id, out OwnedSession owned) => _owned.TryGetValue(id, out owned!);

    public ICollection<OwnedSession> Owned => _owned.Values;

    /// <summary>Writes a new session (owner_epoch 1) under the current incarnation; Unavailable while this node is not valid.</summary>
    public StoreResult Create(OwnershipRecord record, Func<SessionRecord, OwnedSession, OwnershipRecord> toStore, out OwnedSession? owned)
    {
        ArgumentNullException.ThrowIfNull(record);
        owned = null;
        ulong epoch = NodeEpoch;
        if (!IsValid(epoch, NowMs()))
        {
            CountStoreResult(StoreStatus.Unavailable);
            return StoreResult.Unavailable;
        }
        StoreResult r = Checked(Store.Create(record with { OwnerNode = NodeId, OwnerNodeEpoch = epoch }), record.Id);
        CountStoreResult(r.Status);
        if (r.IsOk)
        {
            owned = new OwnedSession(this, record.Id, record.PeerKey, record.InnerAddresses, r.Current!.OwnerEpoch, epoch, toStore);
            _owned[record.Id] = owned;
        }
        return r;
    }

    /// <summary>Takes a session over (docs/cluster.md "Failover"): owner_epoch + 1 under the current incarnation.</summary>
    public StoreResult Acquire(SessionId id, AcquireExpectation expected, Func<SessionRecord, OwnedSession, OwnershipRecord> toStore, out OwnedSession? owned)
    {
        owned = null;
        ulong epoch = NodeEpoch;
        if (!IsValid(epoch, NowMs()))
        {
            CountStoreResult(StoreStatus.Unavailable);
            return StoreResult.Unavailable;
        }
        StoreResult r = Checked(Store.Acquire(id, NodeId, epoch, expected), id);
        CountStoreResult(r.Status);
        if (r.IsOk)
        {
            owned = new OwnedSession(this, id, r.Current!.PeerKey, r.Current.InnerAddresses, r.Current.OwnerEpoch, epoch, toStore);
            _owned[id] = owned;
        }
        return r;
    }

    public StoreResult Read(SessionId id)
    {
        StoreResult r = Checked(Store.Read(id), id);
        CountStoreResult(r.Status);
        return r;
    }

    /// <summary>
    /// Whether the incarnation owning <paramref name="record"/> may be taken over now, and on which heartbeat
    /// value to condition the acquire. This node's own sessions of an older incarnation are free at once.
    /// </summary>
    public LivenessVerdict Judge(OwnershipRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        long now = NowMs();
        if (record.Released || (string.Equals(record.OwnerNode, NodeId, StringComparison.Ordinal) && record.OwnerNodeEpoch <= NodeEpoch))
        {
            return new LivenessVerdict(LivenessKind.Dead, default, 0, now);
        }
        return Liveness.Judge(record.OwnerNode, record.OwnerNodeEpoch, now);
    }

    /// <summary>Stops owning a session (it ended, was lost, or is handed on); <paramref name="release"/> marks it released in the store.</summary>
    public StoreResult Forget(SessionId id, bool release)
    {
        if (_owned.TryRemove(id, out OwnedSession? owned) && release && !owned.Lost)
        {
            StoreResult r = Store.Release(id, NodeId, owned.NodeEpoch, owned.Epoch);
            CountStoreResult(r.Status);
            return r;
        }
        return new StoreResult(StoreStatus.NotFound, null, 0);
    }

    /// <summary>
    /// One period of the heartbeat loop: fence if validity lapsed; register a new incarnation if there is none
    /// (or the last one was fenced), else send the next beat; list every node's heartbeat for liveness.
    /// </summary>
    internal void Tick()
    {
        long now = NowMs();
        CheckFence(now);
        bool register;
        ulong epoch;
        ulong beat = 0;
        lock (_lock)
        {
            epoch = NodeEpoch;
            register = epoch == 0 || _fenced;
            if (!register && _beatsInFlight < MaxBeatsInFlight)
            {
                beat = ++_beat;
                _beatsInFlight++;
            }
        }
        if (register)
        {
            if (Interlocked.CompareExchange(ref _registerInFlight, 1, 0) == 0)
            {
                Dispatch(Register);
            }
        }
        else if (beat != 0)
        {
            long sent = now;
            Dispatch(() => SendBeat(epoch, beat, sent));
        }
        if (Interlocked.CompareExchange(ref _listInFlight, 1, 0) == 0)
        {
            Dispatch(ListNodes);
        }
        if (Expiry is { } rule && now >= _nextReapMs && IsValid(NodeEpoch, now) && Interlocked.CompareExchange(ref _reapInFlight, 1, 0) == 0)
        {
            _nextReapMs = now + ReapEveryMs;
            Dispatch(() => Reap(rule));
        }
    }

    /// <summary>
    /// docs/cluster.md "Record expiry": how often a valid node asks the store to end abandoned records. One store call
    /// per node and period, O(records due) work in the store; a record is ended within a period of falling due.
    /// </summary>
    public const long ReapEveryMs = 1000;

    /// <summary>The record-expiry rule of this node's sessions (set by the session layer); null: this node sweeps nothing.</summary>
    public RecordExpiry? Expiry { get; set; }

    /// <summary>The tombstones this node's sweeps wrote (store input, already checked), for the session layer's audit lines.</summary>
    internal Action<IReadOnlyList<OwnershipRecord>>? OnReaped { get; set; }

    /// <summary>Records this node's sweeps ended since it started.</summary>
    public long RecordsReaped => Interlocked.Read(ref _reaped);

    private long _nextReapMs = long.MinValue;
    private int _reapInFlight;
    private long _reaped;

    private void Reap(RecordExpiry rule)
    {
        try
        {
            long sent = NowMs();
            IReadOnlyList<OwnershipRecord>? ended = Store.Reap(rule);
            NoteStore(ended is not null, NowMs() - sent);
            if (ended is null || ended.Count == 0)
            {
                return;
            }
            var valid = new List<OwnershipRecord>(ended.Count);
            foreach (OwnershipRecord r in ended)
            {
                if (StoreRecordCheck.Problem(r) is { } problem)
                {
                    RejectRecord("session " + r.Id.ToString() + ": " + problem);
                    continue;
                }
                valid.Add(r);
            }
            Interlocked.Add(ref _reaped, valid.Count);
            _logger.LogInformation("cluster: ended {Count} abandoned session records (older than the session lifetime, or released and not continued; docs/cluster.md \"Record expiry\")", valid.Count);
            OnReaped?.Invoke(valid);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogError(ex, "cluster: ending abandoned session records failed");
        }
        finally
        {
            Interlocked.Exchange(ref _reapInFlight, 0);
        }
    }

    /// <summary>
    /// Runs once each time this node fences itself, on whichever thread noticed (the heartbeat loop, a store thread,
    /// the sweep): the session layer stops forwarding every session of the fenced incarnation there and then
    /// instead of at its next sweep (docs/cluster.md "Fence margin"). Must not call the store.
    /// </summary>
    internal Action? OnFenced { get; set; }

    /// <summary>Fences the current incarnation once its validity has passed (also called by the session sweep).</summary>
    public void CheckFence(long nowMs)
    {
        bool fenced = false;
        lock (_lock)
        {
            if (_armed && !_fenced && nowMs >= ValidUntilMs)
            {
                FenceLocked(nowMs, "no heartbeat succeeded within NodeTtl minus the fence margin");
                fenced = true;
            }
        }
        if (fenced)
        {
            OnFenced?.Invoke();
        }
    }

    private void FenceLocked(long nowMs, string why)
    {
        _fenced = true;
        Interlocked.Exchange(ref _validUntilMs, long.MinValue);
        Interlocked.Increment(ref _fences);
        _logger.LogWarning("cluster: node {Node} epoch {Epoch} fenced at {Now} ms ({Why}; NodeTtl {Ttl} ms, fence margin {Margin} ms): every session stops; a new node epoch follows when the store answers",
            NodeId, NodeEpoch, nowMs, why, NodeTtlMs, FenceMarginMs);
    }

    /// <summary>
    /// The heartbeat listing names this node id under a newer node epoch than the one it serves under: another
    /// incarnation of this node id registered (a restart while this one was cut off), and may take every session of
    /// this one at once (docs/cluster.md "Ownership": a node's own older incarnation is free). This incarnation stops
    /// the moment it learns it, not when its validity runs out.
    /// </summary>
    private void FenceIfSuperseded(IReadOnlyList<ClusterNodeInfo> nodes, long nowMs)
    {
        bool fenced = false;
        lock (_lock)
        {
            ulong mine = NodeEpoch;
            if (mine == 0 || _fenced)
            {
                return;
            }
            foreach (ClusterNodeInfo n in nodes)
            {
                if (string.Equals(n.NodeId, NodeId, StringComparison.Ordinal) && n.NodeEpoch > mine)
                {
                    FenceLocked(nowMs, "the store lists node epoch " + n.NodeEpoch.ToString(System.Globalization.CultureInfo.InvariantCulture) + " for this node id");
                    fenced = true;
                    break;
                }
            }
        }
        if (fenced)
        {
            OnFenced?.Invoke();
        }
    }

    private void Register()
    {
        try
        {
            long sent = NowMs();
            ulong epoch = Store.RegisterNode(NodeId);
            if (epoch == 0)
            {
                NoteStore(false, NowMs() - sent);
                return;
            }
            ulong beat;
            lock (_lock)
            {
                if (epoch <= NodeEpoch)
                {
                    return; // the store handed out a number that is not new: never reuse an incarnation
                }
                Interlocked.Exchange(ref _nodeEpoch, (long)epoch);
                _fenced = false;
                _armed = false;
                Interlocked.Exchange(ref _validUntilMs, long.MinValue);
                _beat = 1;
                beat = 1;
                _beatsInFlight++;
            }
            _logger.LogInformation("cluster: node {Node} registered node epoch {Epoch}", NodeId, epoch);
            SendBeat(epoch, beat, NowMs());
        }
        finally
        {
            Interlocked.Exchange(ref _registerInFlight, 0);
        }
    }

    private void SendBeat(ulong epoch, ulong beat, long sentMs)
    {
        bool ok;
        try
        {
            ok = Store.Heartbeat(new ClusterNodeInfo(NodeId, epoch, beat, AdvertiseEndpoint, Draining, 0));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogError(ex, "cluster: heartbeat failed");
            ok = false;
        }
        long now = NowMs();
        NoteStore(ok, now - sentMs);
        bool fenced = false;
        lock (_lock)
        {
            _beatsInFlight--;
            if (!ok)
            {
                Interlocked.Increment(ref _beatsFailed);
                return;
            }
            Interlocked.Increment(ref _beatsOk);
            if (epoch != NodeEpoch || _fenced)
            {
                return; // a beat of a fenced or replaced incarnation never brings it back
            }
            if (_armed && now >= ValidUntilMs)
            {
                // The answer came after validity ended: survivors may already own our sessions.
                FenceLocked(now, "a heartbeat was answered only after the validity it had to extend ended");
                fenced = true;
            }
            else
            {
                long until = sentMs + NodeTtlMs - FenceMarginMs;
                if (until > ValidUntilMs)
                {
                    Interlocked.Exchange(ref _validUntilMs, until);
                }
                _armed = true;
            }
        }
        if (fenced)
        {
            OnFenced?.Invoke();
        }
    }

    private void ListNodes()
    {
        try
        {
            long sent = NowMs();
            IReadOnlyList<ClusterNodeInfo>? nodes = Store.ListNodes();
            long now = NowMs();
            if (nodes is not null)
            {
                Liveness.Observe(nodes, now);
                FenceIfSuperseded(nodes, now);
            }
            NoteStore(nodes is not null, now - sent);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _logger.LogError(ex, "cluster: listing node heartbeats failed");
        }
        finally
        {
            Interlocked.Exchange(ref _listInFlight, 0);
        }
    }

    private void NoteStore(bool up, long latencyMs)
    {
        Interlocked.Exchange(ref _lastLatencyMicros, latencyMs * 1000);
        if (!up)
        {
            Interlocked.Increment(ref _unavailable);
        }
        if (Interlocked.Exchange(ref _storeUp, up ? 1 : 0) != (up ? 1 : 0))
        {
            if (up)
            {
                _logger.LogInformation("cluster: store {Store} is reachable again", Store.Description);
            }
            else
            {
                _logger.LogWarning("cluster: store {Store} is unreachable; takeovers and new sessions are refused (STORE_UNAVAILABLE) and this node fences itself {Margin} ms before NodeTtl passes without a heartbeat",
                    Store.Description, FenceMarginMs);
            }
        }
    }

    /// <summary>
    /// Every record the store hands back passes <see cref="StoreRecordCheck"/> before the session layer sees
    /// it: a store writer can put anything into a record (docs/cluster.md "The store is untrusted input").
    /// A malformed answer becomes <see cref="StoreStatus.Malformed"/> with no record: counted, logged, dropped.
    /// </summary>
    public StoreResult Checked(StoreResult r, SessionId id)
    {
        string? problem = r.Status == StoreStatus.Malformed ? r.Problem ?? "malformed reply"
            : r.Current is { } rec ? (rec.Id != id ? "a record for another session id" : StoreRecordCheck.Problem(rec))
            : null;
        if (problem is null)
        {
            return r;
        }
        RejectRecord("session " + id.ToString() + ": " + problem);
        return StoreResult.Malformed(problem, r.StoreNowUnixMs);
    }

    /// <summary>Counts a dropped piece of store input; logs it at most once per <see cref="RejectLogIntervalMs"/>.</summary>
    public void RejectRecord(string problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        Interlocked.Increment(ref _rejected);
        long now = NowMs();
        long last = Interlocked.Read(ref _rejectLoggedAtMs);
        if (last != long.MinValue && now - last < RejectLogIntervalMs)
        {
            Interlocked.Increment(ref _rejectSuppressed);
            return;
        }
        if (Interlocked.CompareExchange(ref _rejectLoggedAtMs, now, last) != last)
        {
            Interlocked.Increment(ref _rejectSuppressed);
            return;
        }
        long suppressed = Interlocked.Exchange(ref _rejectSuppressed, 0);
        _logger.LogWarning("cluster: dropped malformed store input ({Problem}); {Suppressed} more since the last such line, {Total} in all",
            problem, suppressed, RejectedRecords);
    }

    internal void CountStoreResult(StoreStatus status)
    {
        switch (status)
        {
            case StoreStatus.Ok:
                Interlocked.Increment(ref _casOk);
                break;
            case StoreStatus.Unavailable:
                Interlocked.Increment(ref _unavailable);
                break;
            case StoreStatus.StaleStateVersion or StoreStatus.OwnershipConflict or StoreStatus.OwnerAlive:
                Interlocked.Increment(ref _casLost);
                break;
            default:
                break;
        }
    }

    /// <summary>Ticks on the monotonic clock every <see cref="BeatEveryMs"/>; a late tick is not made up for twice.</summary>
    private void Loop()
    {
        long next = NowMs();
        while (true)
        {
            long wait = Math.Max(0, next - NowMs());
            if (_stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(wait)))
            {
                return;
            }
            try
            {
                Tick();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _logger.LogError(ex, "cluster: heartbeat loop failed");
            }
            next = Math.Max(next + BeatEveryMs, NowMs());
        }
    }

    /// <summary>
    /// True once when `jvpn cluster drain` asked this node to drain (docs/cluster.md "Drain"): the one read of the
    /// drain request, for whichever loop polls it (<see cref="DrainRequestWatch"/>).
    /// </summary>
    public bool TakeDrainRequest() => Store.TakeDrainRequest(NodeId);

    /// <summary>Stops the heartbeat and releases every session still owned, so clients' next node takes them at once.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        if (_loop.IsAlive)
        {
            _loop.Join(TimeSpan.FromSeconds(2));
        }
        _work.CompleteAdding();
        foreach (Thread w in _workers)
        {
            if (w.IsAlive)
            {
                w.Join(TimeSpan.FromSeconds(2));
            }
        }
        foreach (SessionId id in _owned.Keys)
        {
            Forget(id, release: true);
        }
        _stop.Dispose();
        _work.Dispose();
    }
}
