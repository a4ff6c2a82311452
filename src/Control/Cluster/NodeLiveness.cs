namespace JumpingVpn.Control.Cluster;

/// <summary>What an observer concluded about the incarnation that owns a session (docs/cluster.md "Node liveness").</summary>
public enum LivenessKind : byte
{
    /// <summary>The owner's heartbeat changed less than NodeTtl ago on this node's clock: refuse, retry later.</summary>
    Alive,
    /// <summary>Takeover allowed: the heartbeat has not changed for NodeTtl, is absent, or names a newer incarnation.</summary>
    Dead,
    /// <summary>This node has not listed the heartbeats yet (just started, or the store never answered): retry later.</summary>
    Unknown,
}

/// <summary>
/// A verdict: for <see cref="LivenessKind.Dead"/> the heartbeat value judged stale (the acquire is conditioned
/// on it), for the others how long until the owner could be judged dead.
/// </summary>
public readonly record struct LivenessVerdict(LivenessKind Kind, ObservedBeat StaleBeat, long RetryAfterMs, long DeadAtMs);

/// <summary>
/// The observer side of node liveness (docs/cluster.md "Node liveness"), without I/O: fed complete heartbeat
/// listings with the monotonic time they arrived, it answers whether the incarnation owning a session may be
/// taken over. A node counts as dead once the (node epoch, beat) value of its heartbeat record has not changed
/// for NodeTtl on this observer's own clock, measured from the first listing that showed the value; no clock of
/// another machine is compared. The store's acquire re-checks that the heartbeat is still that value, so a
/// late or stale observation can make a takeover fail, never succeed wrongly. Thread-safe (listings arrive on
/// the heartbeat loop, questions from the session layer); neither side is a data-plane path.
/// </summary>
public sealed class NodeLiveness
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _nodes = new(StringComparer.Ordinal);
    private long _listedAtMs = long.MinValue;

    /// <param name="nodeTtlMs">How long a heartbeat value may stand still before its node is dead.</param>
    /// <param name="listEveryMs">How often the heartbeats are listed: an observer that has not listed yet asks to be asked again after one period.</param>
    public NodeLiveness(long nodeTtlMs, long listEveryMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nodeTtlMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(listEveryMs);
        NodeTtlMs = nodeTtlMs;
        ListEveryMs = listEveryMs;
    }

    public long NodeTtlMs { get; }

    public long ListEveryMs { get; }

    private sealed class Entry(ClusterNodeInfo info, long firstSeenMs)
    {
        public ClusterNodeInfo Info = info;
        public long FirstSeenMs = firstSeenMs;
    }

    /// <summary>Time of the last listing (long.MinValue before the first).</summary>
    public long ListedAtMs
    {
        get
        {
            lock (_lock)
            {
                return _listedAtMs;
            }
        }
    }

    /// <summary>
    /// A complete listing of heartbeat records that arrived at <paramref name="nowMs"/>. A value that changed
    /// (or appeared) starts its NodeTtl at <paramref name="nowMs"/>: the store served it no later than that.
    /// </summary>
    public void Observe(IReadOnlyList<ClusterNodeInfo> nodes, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        lock (_lock)
        {
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (ClusterNodeInfo n in nodes)
            {
                listed.Add(n.NodeId);
                if (_nodes.TryGetValue(n.NodeId, out Entry? e))
                {
                    if (e.Info.NodeEpoch != n.NodeEpoch || e.Info.Beat != n.Beat)
                    {
                        e.FirstSeenMs = nowMs;
                    }
                    e.Info = n;
                }
                else
                {
                    _nodes[n.NodeId] = new Entry(n, nowMs);
                }
            }
            List<string>? gone = null;
            foreach (string id in _nodes.Keys)
            {
                if (!listed.Contains(id))
                {
                    (gone ??= []).Add(id);
                }
            }
            if (gone is not null)
            {
                foreach (string id in gone)
                {
                    _nodes.Remove(id);
                }
            }
            _listedAtMs = nowMs;
        }
    }

    /// <summary>May a session owned by (<paramref name="node"/>, <paramref name="nodeEpoch"/>) be taken over at <paramref name="nowMs"/>?</summary>
    public LivenessVerdict Judge(string node, ulong nodeEpoch, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_lock)
        {
            if (_listedAtMs == long.MinValue)
            {
                return new LivenessVerdict(LivenessKind.Unknown, default, ListEveryMs, long.MaxValue);
            }
            if (!_nodes.TryGetValue(node, out Entry? e))
            {
                return new LivenessVerdict(LivenessKind.Dead, default, 0, _listedAtMs);
            }
            var beat = new ObservedBeat(e.Info.NodeEpoch, e.Info.Beat);
            if (e.Info.NodeEpoch > nodeEpoch)
            {
                return new LivenessVerdict(LivenessKind.Dead, beat, 0, e.FirstSeenMs);
            }
            long deadAt = e.FirstSeenMs + NodeTtlMs;
            return nowMs >= deadAt
                ? new LivenessVerdict(LivenessKind.Dead, beat, 0, deadAt)
                : new LivenessVerdict(LivenessKind.Alive, beat, deadAt - nowMs, deadAt);
        }
    }

    /// <summary>The last listed heartbeat of every node with the time each would be judged dead (status and metrics).</summary>
    public IReadOnlyList<(ClusterNodeInfo Node, long DeadAtMs)> Snapshot()
    {
        lock (_lock)
        {
            var list = new List<(ClusterNodeInfo, long)>(_nodes.Count);
            foreach (Entry e in _nodes.Values)
            {
                list.Add((e.Info, e.FirstSeenMs + NodeTtlMs));
            }
            return list;
        }
    }
}
