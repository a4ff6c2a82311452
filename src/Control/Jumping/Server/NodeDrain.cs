using System.Net;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>A node as the drain sees it: its id, the endpoint its clients use (null: not published), and whether it drains too.</summary>
internal readonly record struct DrainNode(string NodeId, IPEndPoint? Endpoint, bool Draining);

/// <summary>What the drain asks its driver to do next.</summary>
internal enum DrainStep
{
    /// <summary>
    /// Release the session in the store, so another node may take it at once; this node stops answering it but
    /// keeps forwarding its traffic while it is <see cref="NodeDrain.IsMoving"/> (make-before-break, docs/cluster.md "Drain").
    /// </summary>
    Release,

    /// <summary>Send SESSION_MOVE naming <see cref="DrainAction.Target"/> (null: any other node the client knows).</summary>
    SendMove,

    /// <summary>Read the session's record: owned by another node now means the client arrived there.</summary>
    CheckMoved,

    /// <summary>Every session moved, or the bound passed: the node may exit.</summary>
    Exit,
}

internal readonly record struct DrainAction(DrainStep Step, SessionId Session, DrainNode? Target);

/// <summary>The drain's timing (docs/cluster.md "Drain").</summary>
internal sealed record DrainLimits
{
    /// <summary>
    /// The first SESSION_MOVE repeats after this (UDP may drop one) until the client is seen elsewhere; each
    /// further repeat waits twice as long, up to <see cref="MaxRepeatMs"/>, so thousands of moving sessions do
    /// not flood the uplink with repeats their clients already acted on.
    /// </summary>
    public long RepeatMs { get; init; } = 40;

    /// <summary>The longest wait between two repeats of one session's SESSION_MOVE.</summary>
    public long MaxRepeatMs { get; init; } = 640;

    /// <summary>
    /// Pause between two check rounds: one round reads every session still moving in one batch
    /// (<see cref="DrainStep.CheckMoved"/> actions handed out together), the next starts this long after the
    /// round ended (<see cref="NodeDrain.CheckRoundDone"/>), so the store load follows the store's speed.
    /// </summary>
    public long CheckMs { get; init; } = 50;

    /// <summary>A session whose client has not arrived elsewhere by then is left to the client's own failover.</summary>
    public long MoveBoundMs { get; init; } = 3_000;

    /// <summary>The node exits after this even if clients have not all moved.</summary>
    public long TotalBoundMs { get; init; } = 5_000;

    /// <summary>Sessions released per tick, in one batch of pipelined store calls (<see cref="Cluster.ISessionStore.ReleaseMany"/>).</summary>
    public int ReleasesPerTick { get; init; } = 500;
}

/// <summary>
/// Planned removal of a node from the cluster (docs/cluster.md "Drain"), sans-I/O: given the sessions this node
/// owns and the live nodes, it picks a target node per session (spread evenly, in turn, over the live nodes that
/// do not drain themselves) and drives each session through release (stop forwarding, release in the store),
/// SESSION_MOVE repeated from <see cref="DrainLimits.RepeatMs"/> on (backing off), and batched store checks until another node owns it;
/// then the node exits. A session is released before its first SESSION_MOVE leaves, so the node the client goes
/// to can acquire it at once instead of waiting for this node to be judged dead. Bounded: a session whose client
/// does not move within <see cref="DrainLimits.MoveBoundMs"/> is given up (its client fails over on silence, the
/// store already lets any node take it), and the whole drain ends after <see cref="DrainLimits.TotalBoundMs"/>.
/// </summary>
internal sealed class NodeDrain
{
    private readonly DrainLimits _limits;
    private readonly Entry[] _entries;
    private readonly Dictionary<SessionId, int> _index = [];
    private readonly long _startMs;
    private int _nextToRelease;
    private long _nextCheckMs = -1;
    private bool _exited;

    public NodeDrain(string self, IReadOnlyList<SessionId> owned, IReadOnlyList<DrainNode> nodes, long nowMs, DrainLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(self);
        ArgumentNullException.ThrowIfNull(owned);
        ArgumentNullException.ThrowIfNull(nodes);
        _limits = limits ?? new DrainLimits();
        _startMs = nowMs;
        var targets = new List<DrainNode>();
        foreach (DrainNode n in nodes)
        {
            if (!n.Draining && !string.Equals(n.NodeId, self, StringComparison.Ordinal))
            {
                targets.Add(n);
            }
        }
        targets.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        Targets = targets;
        _entries = new Entry[owned.Count];
        for (int i = 0; i < owned.Count; i++)
        {
            _entries[i] = new Entry(owned[i], targets.Count > 0 ? targets[i % targets.Count] : null);
            _index[owned[i]] = i;
        }
    }

    /// <summary>The nodes sessions go to, in the order they are handed out.</summary>
    public IReadOnlyList<DrainNode> Targets { get; }

    /// <summary>The node chosen for a session (null: no other live node; the session is only released).</summary>
    public DrainNode? TargetOf(SessionId id) => _index.TryGetValue(id, out int i) ? _entries[i].Target : null;

    public int Moved { get; private set; }

    public int GivenUp { get; private set; }

    public int Total => _entries.Length;

    /// <summary>True once <see cref="DrainStep.Exit"/> was handed out.</summary>
    public bool Finished => _exited;

    /// <summary>Milliseconds from release to the client's arrival elsewhere, per moved session.</summary>
    public IEnumerable<(SessionId Id, long Ms)> MoveTimes()
    {
        foreach (Entry e in _entries)
        {
            if (e.State == EntryState.Moved)
            {
                yield return (e.Id, e.MovedMs - e.ReleasedMs);
            }
        }
    }

    /// <summary>
    /// Released and told to move, and its client not seen elsewhere yet: this node still forwards its traffic
    /// (the client sends through it until its handshake with the target completes). False once moved, given up,
    /// or the drain ended.
    /// </summary>
    public bool IsMoving(SessionId id) => !_exited && _index.TryGetValue(id, out int i) && _entries[i].State == EntryState.Moving;

    /// <summary>The store says another node owns the session (or it is gone): its client arrived elsewhere.</summary>
    public void OnMoved(SessionId id, long nowMs)
    {
        if (_index.TryGetValue(id, out int i) && _entries[i].State == EntryState.Moving)
        {
            _entries[i].State = EntryState.Moved;
            _entries[i].MovedMs = nowMs;
            Moved++;
            Moving--;
        }
    }

    /// <summary>
    /// The driver finished the check round handed out by the last <see cref="Tick"/> at <paramref name="nowMs"/>:
    /// the next round starts <see cref="DrainLimits.CheckMs"/> after that.
    /// </summary>
    public void CheckRoundDone(long nowMs) => _nextCheckMs = nowMs + _limits.CheckMs;

    /// <summary>Sessions released and told to move whose client has not been seen elsewhere yet.</summary>
    public int Moving { get; private set; }

    /// <summary>What to do now; call every few ms (the driver's loop) until <see cref="Finished"/>.</summary>
    public void Tick(long nowMs, List<DrainAction> actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (_exited)
        {
            return;
        }
        int released = 0;
        for (; _nextToRelease < _entries.Length && released < _limits.ReleasesPerTick; _nextToRelease++, released++)
        {
            ref Entry e = ref _entries[_nextToRelease];
            actions.Add(new DrainAction(DrainStep.Release, e.Id, e.Target));
            e.ReleasedMs = nowMs;
            if (e.Target is null)
            {
                e.State = EntryState.GivenUp; // nowhere to send it: released, the client finds its own way
                GivenUp++;
                continue;
            }
            actions.Add(new DrainAction(DrainStep.SendMove, e.Id, e.Target));
            e.State = EntryState.Moving;
            e.RepeatEveryMs = _limits.RepeatMs;
            e.NextMoveMs = nowMs + e.RepeatEveryMs;
            Moving++;
            if (_nextCheckMs < 0)
            {
                _nextCheckMs = nowMs + _limits.CheckMs;
            }
        }
        bool pending = _nextToRelease < _entries.Length;
        bool checkRound = _nextCheckMs >= 0 && nowMs >= _nextCheckMs;
        for (int i = 0; i < _nextToRelease; i++)
        {
            ref Entry e = ref _entries[i];
            if (e.State != EntryState.Moving)
            {
                continue;
            }
            if (e.ReleasedMs == nowMs)
            {
                pending = true; // released and told just now
                continue;
            }
            if (nowMs - e.ReleasedMs >= _limits.MoveBoundMs)
            {
                e.State = EntryState.GivenUp;
                GivenUp++;
                Moving--;
                continue;
            }
            pending = true;
            if (nowMs >= e.NextMoveMs)
            {
                actions.Add(new DrainAction(DrainStep.SendMove, e.Id, e.Target));
                e.RepeatEveryMs = Math.Min(e.RepeatEveryMs * 2, Math.Max(_limits.RepeatMs, _limits.MaxRepeatMs));
                e.NextMoveMs = nowMs + e.RepeatEveryMs;
            }
            if (checkRound)
            {
                actions.Add(new DrainAction(DrainStep.CheckMoved, e.Id, e.Target));
            }
        }
        if (checkRound)
        {
            _nextCheckMs = nowMs + _limits.CheckMs; // CheckRoundDone moves it on from the round's end
        }
        if (!pending || nowMs - _startMs >= _limits.TotalBoundMs)
        {
            actions.Add(new DrainAction(DrainStep.Exit, default, null));
            _exited = true;
        }
    }

    private enum EntryState
    {
        Pending,
        Moving,
        Moved,
        GivenUp,
    }

    private struct Entry(SessionId id, DrainNode? target)
    {
        public readonly SessionId Id = id;
        public readonly DrainNode? Target = target;
        public EntryState State = EntryState.Pending;
        public long ReleasedMs = -1;
        public long MovedMs = -1;
        public long NextMoveMs;
        public long RepeatEveryMs;
    }
}
