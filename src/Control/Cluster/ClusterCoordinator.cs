using System.Collections.Concurrent;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// This node's side of the cluster (docs/design.md §6, docs/session-spec.md §5.2.3): the leases it holds, their renewal
/// (every third of the lease), the node's announcement in the store's node registry, and the store's
/// health for metrics. It decides nothing about sessions itself: the session layer asks it to create,
/// acquire and commit, and reads <see cref="ClusterLease.IsValid"/> to self-fence.
/// </summary>
public sealed class ClusterCoordinator : IDisposable
{
    /// <summary>Margin for clock drift between this node and the store when judging our own lease.</summary>
    public const long DriftMarginMs = 500;

    private readonly ConcurrentDictionary<SessionId, ClusterLease> _leases = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _renewer;
    private long _storeUp = 1;
    private long _lastLatencyMicros;
    private long _casOk;
    private long _casLost;
    private long _unavailable;
    private long _rejected;
    private long _rejectLoggedAtMs = long.MinValue;
    private long _rejectSuppressed;

    public ClusterCoordinator(ISessionStore store, string nodeId, long leaseMs, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (leaseMs <= 2 * DriftMarginMs)
        {
            throw new ArgumentOutOfRangeException(nameof(leaseMs), "the lease must be longer than twice the drift margin (1 s)");
        }
        Store = store;
        NodeId = nodeId;
        LeaseMs = leaseMs;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _renewer = new Thread(RenewLoop) { IsBackground = true, Name = "jvpn-leases" };
    }

    public ISessionStore Store { get; }

    public string NodeId { get; }

    public long LeaseMs { get; }

    public long RenewEveryMs => LeaseMs / 3;

    /// <summary>Detail published in the node registry (e.g. the UDP port).</summary>
    public string NodeDetail { get; set; } = "";

    public bool StoreUp => Interlocked.Read(ref _storeUp) == 1;

    public double StoreLatencyMs => Interlocked.Read(ref _lastLatencyMicros) / 1000.0;

    public long CasCommitted => Interlocked.Read(ref _casOk);

    public long CasLost => Interlocked.Read(ref _casLost);

    public long StoreUnavailableCount => Interlocked.Read(ref _unavailable);

    /// <summary>Records, registry entries and replies from the store that failed validation and were dropped.</summary>
    public long RejectedRecords => Interlocked.Read(ref _rejected);

    /// <summary>Minimum time between two log lines about rejected store input (the rest are counted).</summary>
    public const long RejectLogIntervalMs = 10_000;

    public int LeaseCount => _leases.Count;

    public long NowMs() => _time.GetTimestamp() * 1000 / _time.TimestampFrequency;

    public void Start() => _renewer.Start();

    public bool TryGetLease(SessionId id, out ClusterLease lease) => _leases.TryGetValue(id, out lease!);

    /// <summary>Writes a new session (epoch 1) and takes its lease; false when the store refused or is away.</summary>
    public StoreResult Create(OwnershipRecord record, Func<SessionRecord, ClusterLease, OwnershipRecord> toStore, out ClusterLease? lease)
    {
        ArgumentNullException.ThrowIfNull(record);
        long sent = NowMs();
        StoreResult r = Checked(Store.Create(record with { OwnerNode = NodeId }, LeaseMs), record.Id);
        CountStoreResult(r.Status);
        lease = null;
        if (r.IsOk)
        {
            lease = new ClusterLease(this, record.Id, record.PeerKey, record.InnerAddresses, r.Current!.OwnerEpoch, sent + LeaseMs - DriftMarginMs, toStore);
            _leases[record.Id] = lease;
        }
        return r;
    }

    /// <summary>Acquires a session from the store (failover, or our own after a restart): epoch + 1.</summary>
    public StoreResult Acquire(SessionId id, Func<SessionRecord, ClusterLease, OwnershipRecord> toStore, out ClusterLease? lease)
    {
        long sent = NowMs();
        StoreResult r = Checked(Store.Acquire(id, NodeId, LeaseMs), id);
        CountStoreResult(r.Status);
        lease = null;
        if (r.IsOk)
        {
            lease = new ClusterLease(this, id, r.Current!.PeerKey, r.Current.InnerAddresses, r.Current.OwnerEpoch, sent + LeaseMs - DriftMarginMs, toStore);
            _leases[id] = lease;
        }
        return r;
    }

    public StoreResult Read(SessionId id)
    {
        StoreResult r = Checked(Store.Read(id), id);
        CountStoreResult(r.Status);
        return r;
    }

    /// <summary>Stops renewing a lease (the session ended, or was lost, or we release it).</summary>
    public void Forget(SessionId id, bool release)
    {
        if (_leases.TryRemove(id, out ClusterLease? lease) && release && !lease.Lost)
        {
            CountStoreResult(Store.Release(id, NodeId, lease.Epoch).Status);
        }
    }

    /// <summary>One renewal round: every held lease, then the node's announcement, then a health probe.</summary>
    internal void RenewOnce()
    {
        foreach (ClusterLease lease in _leases.Values)
        {
            if (lease.Lost)
            {
                continue;
            }
            long sent = NowMs();
            StoreResult r = Checked(Store.Renew(lease.Id, NodeId, lease.Epoch, LeaseMs), lease.Id);
            CountStoreResult(r.Status);
            if (r.IsOk)
            {
                lease.Extend(sent + LeaseMs - DriftMarginMs);
            }
            else if (r.Status is StoreStatus.OwnershipConflict or StoreStatus.NotFound)
            {
                lease.MarkLost();
                _logger.LogWarning("cluster: lost session {Id} (store owner {Owner}, epoch {Epoch})", lease.Id, r.Current?.OwnerNode ?? "-", r.Current?.OwnerEpoch ?? 0);
            }
        }
        Store.Heartbeat(NodeId, NodeDetail, LeaseMs);
        bool up = Store.Ping(out double latency);
        Interlocked.Exchange(ref _lastLatencyMicros, (long)(latency * 1000));
        if (up != StoreUp)
        {
            Interlocked.Exchange(ref _storeUp, up ? 1 : 0);
            if (up)
            {
                _logger.LogInformation("cluster: store {Store} is reachable again", Store.Description);
            }
            else
            {
                _logger.LogWarning("cluster: store {Store} is unreachable; reattaches are refused (STORE_UNAVAILABLE) and sessions self-fence when their lease ends", Store.Description);
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
            case StoreStatus.StaleStateVersion or StoreStatus.OwnershipConflict or StoreStatus.LeaseHeld:
                Interlocked.Increment(ref _casLost);
                break;
            default:
                break;
        }
    }

    private void RenewLoop()
    {
        while (!_stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(RenewEveryMs)))
        {
            try
            {
                RenewOnce();
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "cluster: lease renewal failed");
            }
        }
    }

    /// <summary>
    /// True once when `jvpn cluster drain` asked this node to drain (docs/cluster.md "Drain"): the one read of the
    /// drain request, for whichever loop polls it (<see cref="DrainRequestWatch"/>).
    /// </summary>
    public bool TakeDrainRequest() => Store.TakeDrainRequest(NodeId);

    /// <summary>Stops renewing and releases every lease still held, so clients fail over without waiting.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        if (_renewer.IsAlive)
        {
            _renewer.Join(TimeSpan.FromSeconds(2));
        }
        foreach (SessionId id in _leases.Keys)
        {
            Forget(id, release: true);
        }
        _stop.Dispose();
    }
}
