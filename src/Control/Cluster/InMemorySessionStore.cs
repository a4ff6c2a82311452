using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The embedded default store (docs/design.md §6): one process, one lock, the same CAS and takeover rules as the
/// Redis and etcd stores (<see cref="TakeoverRule"/>) so the contract tests hold for all three. Time comes from the
/// injected <see cref="TimeProvider"/> (Unix ms), so tombstone expiry and record expiry (docs/cluster.md "Record expiry")
/// are testable with a manual clock.
/// </summary>
public sealed class InMemorySessionStore(TimeProvider? time = null) : ISessionStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<SessionId, (OwnershipRecord Record, long RemoveAtUnixMs)> _sessions = [];
    private readonly Dictionary<string, ClusterNodeInfo> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _nodeEpochs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RegisteredPeer> _peers = new(StringComparer.Ordinal);

    /// <summary>docs/cluster.md "Record expiry": ids by creation and by release time on this store's clock (entries of records that changed since are dropped when due).</summary>
    private readonly PriorityQueue<SessionId, long> _byCreated = new();
    private readonly PriorityQueue<SessionId, long> _byReleased = new();
    private readonly Dictionary<SessionId, long> _releasedAt = [];

    public string Description => "memory";

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public StoreResult Create(OwnershipRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            long now = Now();
            if (TryGet(record.Id, now, out OwnershipRecord? existing))
            {
                return new StoreResult(StoreStatus.AlreadyExists, existing, now);
            }
            OwnershipRecord created = record with { OwnerEpoch = 1, Released = false };
            _sessions[record.Id] = (created, long.MaxValue);
            _byCreated.Enqueue(record.Id, now); // the store's clock: a node's wall clock may be off
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
            if (cur.Released || !string.Equals(cur.OwnerNode, next.OwnerNode, StringComparison.Ordinal) || cur.OwnerNodeEpoch != next.OwnerNodeEpoch || cur.OwnerEpoch != next.OwnerEpoch)
            {
                return new StoreResult(StoreStatus.OwnershipConflict, cur, now);
            }
            if (cur.StateVersion != expectedVersion)
            {
                return new StoreResult(StoreStatus.StaleStateVersion, cur, now);
            }
            OwnershipRecord written = next with { Released = false };
            _sessions[next.Id] = (written, next.State == SessionState.Terminated ? now + Math.Max(1, tombstoneMs) : long.MaxValue);
            return new StoreResult(StoreStatus.Ok, written, now);
        }
    }

    public StoreResult Acquire(SessionId id, string node, ulong nodeEpoch, AcquireExpectation expected)
    {
        lock (_lock)
        {
            long now = Now();
            if (!TryGet(id, now, out OwnershipRecord? cur))
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            StoreStatus decided = TakeoverRule.Decide(cur, _nodes.GetValueOrDefault(cur.OwnerNode), node, nodeEpoch, expected);
            if (decided != StoreStatus.Ok)
            {
                return new StoreResult(decided, cur, now);
            }
            OwnershipRecord acquired = cur with { OwnerNode = node, OwnerNodeEpoch = nodeEpoch, OwnerEpoch = cur.OwnerEpoch + 1, Released = false };
            _sessions[id] = (acquired, _sessions[id].RemoveAtUnixMs);
            _releasedAt.Remove(id);
            return new StoreResult(StoreStatus.Ok, acquired, now, cur.OwnerNode);
        }
    }

    public StoreResult Release(SessionId id, string node, ulong nodeEpoch, ulong epoch)
    {
        lock (_lock)
        {
            long now = Now();
            if (!TryGet(id, now, out OwnershipRecord? cur))
            {
                return new StoreResult(StoreStatus.NotFound, null, now);
            }
            if (!string.Equals(cur.OwnerNode, node, StringComparison.Ordinal) || cur.OwnerNodeEpoch != nodeEpoch || cur.OwnerEpoch != epoch)
            {
                return new StoreResult(StoreStatus.OwnershipConflict, cur, now);
            }
            OwnershipRecord released = cur with { Released = true };
            _sessions[id] = (released, _sessions[id].RemoveAtUnixMs);
            _releasedAt[id] = now;
            _byReleased.Enqueue(id, now);
            return new StoreResult(StoreStatus.Ok, released, now);
        }
    }

    public IReadOnlyList<OwnershipRecord>? Reap(RecordExpiry rule)
    {
        lock (_lock)
        {
            long now = Now();
            var ended = new List<OwnershipRecord>();
            long createdBefore = now - rule.LifetimeMs;
            for (int n = 0; n < rule.Max && _byCreated.TryPeek(out SessionId id, out long created) && created <= createdBefore; n++)
            {
                _byCreated.Dequeue();
                if (TryGet(id, now, out OwnershipRecord? cur) && cur.State != SessionState.Terminated)
                {
                    ended.Add(End(cur, ReasonCode.SessionTtlExpired, now, rule.TombstoneMs));
                }
            }
            long releasedBefore = now - rule.ReleasedMs;
            for (int n = 0; n < rule.Max && _byReleased.TryPeek(out SessionId id, out long released) && released <= releasedBefore; n++)
            {
                _byReleased.Dequeue();
                // Still released by the release this entry stands for: a record acquired (or released again) since is not due.
                if (TryGet(id, now, out OwnershipRecord? cur) && cur.Released && cur.State != SessionState.Terminated
                    && _releasedAt.TryGetValue(id, out long at) && at == released)
                {
                    ended.Add(End(cur, ReasonCode.TransportLossTtlExpired, now, rule.TombstoneMs));
                }
            }
            return ended;
        }
    }

    private OwnershipRecord End(OwnershipRecord cur, ReasonCode reason, long now, long tombstoneMs)
    {
        OwnershipRecord ended = RecordExpiry.Ended(cur, reason);
        _sessions[cur.Id] = (ended, now + Math.Max(1, tombstoneMs));
        _releasedAt.Remove(cur.Id);
        return ended;
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

    public ulong RegisterNode(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_lock)
        {
            ulong epoch = _nodeEpochs.GetValueOrDefault(node) + 1;
            _nodeEpochs[node] = epoch;
            return epoch;
        }
    }

    public bool Heartbeat(ClusterNodeInfo beat)
    {
        ArgumentNullException.ThrowIfNull(beat);
        lock (_lock)
        {
            // A late write of an older incarnation never replaces a newer one's record (same rule as RedisScripts).
            if (_nodes.TryGetValue(beat.NodeId, out ClusterNodeInfo? cur) && cur.NodeEpoch > beat.NodeEpoch)
            {
                return false;
            }
            _nodes[beat.NodeId] = beat with { SeenUnixMs = Now() };
            return true;
        }
    }

    public IReadOnlyList<ClusterNodeInfo>? ListNodes()
    {
        lock (_lock)
        {
            var list = new List<ClusterNodeInfo>(_nodes.Values);
            list.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
            return list;
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
            _releasedAt.Remove(id);
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
