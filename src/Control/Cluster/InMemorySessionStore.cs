using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The embedded default store (docs/design.md §6): one process, one lock, the same CAS and lease rules as the
/// Redis store so the contract tests hold for both. Time comes from the injected <see cref="TimeProvider"/>
/// (Unix ms), so lease expiry is testable with a manual clock.
/// </summary>
public sealed class InMemorySessionStore(TimeProvider? time = null) : ISessionStore
{
    /// <summary>A live record is dropped this long after its lease ends (same rule as RedisScripts).</summary>
    public const long RetainAfterLeaseMs = 600_000;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<SessionId, (OwnershipRecord Record, long RemoveAtUnixMs)> _sessions = [];
    private readonly Dictionary<string, ClusterNodeInfo> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RegisteredPeer> _peers = new(StringComparer.Ordinal);

    public string Description => "memory";

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public StoreResult Create(OwnershipRecord record, long leaseMs)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            long now = Now();
            if (TryGet(record.Id, now, out OwnershipRecord? existing))
            {
                return new StoreResult(StoreStatus.AlreadyExists, existing, now);
            }
            OwnershipRecord created = record with { OwnerEpoch = 1, LeaseExpiryUnixMs = now + leaseMs };
            _sessions[record.Id] = (created, now + leaseMs + RetainAfterLeaseMs);
            return new StoreResult(StoreStatus.Ok, created, now);
        }
    }

    public StoreResult Read(SessionId id)
    {
        lock (_lock)
        {
            long now = Now();
            return TryGet(id, now, out OwnershipRecord? r)
                ? new StoreResult(StoreStatus.Ok, r, now)
                : new StoreResult(StoreStatus.NotFound, null, now);
        }
    }

    public StoreResult CompareAndSwap(ulong expectedVersion, OwnershipRecord next, long tombstoneMs)
    {
        ArgumentNullException.ThrowIfNull(next);
        lock (_lock)
        {
            long now = Now();
            if (!TryGet(next.Id, now, out OwnershipRecord? cur))
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            if (!string.Equals(cur.OwnerNode, next.OwnerNode, StringComparison.Ordinal) || cur.OwnerEpoch != next.OwnerEpoch)
            {
                return new StoreResult(StoreStatus.OwnershipConflict, cur, now);
            }
            if (cur.StateVersion != expectedVersion)
            {
                return new StoreResult(StoreStatus.StaleStateVersion, cur, now);
            }
            OwnershipRecord written = next with { LeaseExpiryUnixMs = cur.LeaseExpiryUnixMs };
            _sessions[next.Id] = (written, next.State == SessionState.Terminated ? now + tombstoneMs : _sessions[next.Id].RemoveAtUnixMs);
            return new StoreResult(StoreStatus.Ok, written, now);
        }
    }

    public StoreResult Acquire(SessionId id, string node, long leaseMs)
    {
        lock (_lock)
        {
            long now = Now();
            if (!TryGet(id, now, out OwnershipRecord? cur))
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            bool own = string.Equals(cur.OwnerNode, node, StringComparison.Ordinal);
            if (!own && cur.LeaseExpiryUnixMs > now)
            {
                return new StoreResult(StoreStatus.LeaseHeld, cur, now);
            }
            OwnershipRecord acquired = cur with { OwnerNode = node, OwnerEpoch = cur.OwnerEpoch + 1, LeaseExpiryUnixMs = now + leaseMs };
            _sessions[id] = (acquired, now + leaseMs + RetainAfterLeaseMs);
            return new StoreResult(StoreStatus.Ok, acquired, now, cur.OwnerNode);
        }
    }

    public StoreResult Renew(SessionId id, string node, ulong epoch, long leaseMs)
    {
        lock (_lock)
        {
            long now = Now();
            if (!TryGet(id, now, out OwnershipRecord? cur))
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            if (!string.Equals(cur.OwnerNode, node, StringComparison.Ordinal) || cur.OwnerEpoch != epoch)
            {
                return new StoreResult(StoreStatus.OwnershipConflict, cur, now);
            }
            OwnershipRecord renewed = cur with { LeaseExpiryUnixMs = now + leaseMs };
            _sessions[id] = (renewed, cur.State == SessionState.Terminated ? _sessions[id].RemoveAtUnixMs : now + leaseMs + RetainAfterLeaseMs);
            return new StoreResult(StoreStatus.Ok, renewed, now);
        }
    }

    public StoreResult Release(SessionId id, string node, ulong epoch)
    {
        lock (_lock)
        {
            long now = Now();
            if (!TryGet(id, now, out OwnershipRecord? cur))
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            if (!string.Equals(cur.OwnerNode, node, StringComparison.Ordinal) || cur.OwnerEpoch != epoch)
            {
                return new StoreResult(StoreStatus.OwnershipConflict, cur, now);
            }
            OwnershipRecord released = cur with { LeaseExpiryUnixMs = 0 };
            _sessions[id] = (released, cur.State == SessionState.Terminated ? _sessions[id].RemoveAtUnixMs : now + RetainAfterLeaseMs);
            return new StoreResult(StoreStatus.Ok, released, now);
        }
    }

    public IReadOnlyList<OwnershipRecord> ListSessions()
    {
        lock (_lock)
        {
            long now = Now();
            var list = new List<OwnershipRecord>();
            foreach ((OwnershipRecord r, long removeAt) in _sessions.Values)
            {
                if (removeAt > now && r.State != SessionState.Terminated)
                {
                    list.Add(r);
                }
            }
            return list;
        }
    }

    public bool Heartbeat(string node, string detail, long ttlMs)
    {
        lock (_lock)
        {
            long now = Now();
            _nodes[node] = new ClusterNodeInfo(node, detail, now, now + ttlMs);
            return true;
        }
    }

    public IReadOnlyList<ClusterNodeInfo> ListNodes()
    {
        lock (_lock)
        {
            long now = Now();
            return [.. _nodes.Values.Where(n => n.ExpiresUnixMs > now).OrderBy(n => n.NodeId, StringComparer.Ordinal)];
        }
    }

    public bool PutPeer(RegisteredPeer peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lock)
        {
            _peers[peer.PublicKey] = peer;
            return true;
        }
    }

    public IReadOnlyList<RegisteredPeer> ListPeers()
    {
        lock (_lock)
        {
            return [.. _peers.Values.OrderBy(p => p.PublicKey, StringComparer.Ordinal)];
        }
    }

    public bool Ping(out double latencyMs)
    {
        latencyMs = 0;
        return true;
    }

    /// <summary>Reads a record, dropping a tombstone whose retention ended (lazy eviction).</summary>
    private bool TryGet(SessionId id, long now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OwnershipRecord? record)
    {
        if (_sessions.TryGetValue(id, out var entry))
        {
            if (entry.RemoveAtUnixMs > now)
            {
                record = entry.Record;
                return true;
            }
            _sessions.Remove(id);
        }
        record = null;
        return false;
    }

    public void Dispose()
    {
    }

    public bool RequestDrain(string node, long ttlMs)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_lock)
        {
            _drainRequests[node] = Now() + ttlMs;
            return true;
        }
    }

    public bool TakeDrainRequest(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_lock)
        {
            return _drainRequests.Remove(node, out long expires) && expires > Now();
        }
    }

    /// <summary>Drain requests by node: when each expires (Unix ms).</summary>
    private readonly Dictionary<string, long> _drainRequests = new(StringComparer.Ordinal);
}
