using System.Net;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// Carries out a <see cref="NodeDrain"/> on a cluster node (docs/cluster.md "Drain"): reads the live nodes from the
/// store, releases the sessions of each step in one pipelined batch (<see cref="ClusterOwnership.ReleaseForDrain"/>),
/// sends SESSION_MOVE through each session's WireGuard tunnel (so it is authenticated), asks the store in one
/// batched read per check round who owns the sessions still moving, and returns
/// when the drain core says the node may exit. Stepped by the thread that asked for the drain (the drain-request
/// watch or shutdown, <see cref="JumpingNode.Drain"/>), never by the receive thread; the store calls it makes are
/// the drain's own.
/// </summary>
internal sealed class DrainDriver(NodeContext context, ClusterOwnership ownership)
{
    /// <summary>
    /// The nodes a drain may send clients to, as this node's liveness observer last saw them (docs/cluster.md
    /// "Node liveness"): alive on this node's clock, with the client-facing endpoint each advertises
    /// (`AdvertiseEndpoint`; none: the client picks the next node it knows, docs/protocol.md §3.7 family 0) and
    /// its draining flag, so no drain sends clients to a node that is leaving too.
    /// </summary>
    public static List<DrainNode> NodesFrom(IReadOnlyList<(ClusterNodeInfo Node, long DeadAtMs)> observed, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(observed);
        var list = new List<DrainNode>(observed.Count);
        foreach ((ClusterNodeInfo n, long deadAt) in observed)
        {
            if (nowMs >= deadAt || StoreRecordCheck.NodeProblem(n) is not null)
            {
                continue;
            }
            IPEndPoint? endpoint = n.Endpoint.Length > 0 && IPEndPoint.TryParse(n.Endpoint, out IPEndPoint? ep) && ep.Port != 0 ? ep : null;
            list.Add(new DrainNode(n.NodeId, endpoint, n.Draining));
        }
        return list;
    }

    private readonly Dictionary<SessionId, ServerSession> _sessions = [];
    private readonly List<DrainAction> _actions = [];
    private readonly List<(ServerSession Session, string Target)> _releases = [];
    private readonly List<ServerSession> _checks = [];
    private readonly List<SessionId> _checkIds = [];
    private readonly List<ServerSession> _forwarding = [];
    private NodeDrain? _drain;
    private long _startMs;

    /// <summary>The drain core once <see cref="Begin"/> ran (counts and move times).</summary>
    public NodeDrain? Drain => _drain;

    /// <summary>
    /// Starts the drain: from now on the node takes no session on, announces itself as draining (so no other
    /// drain sends clients here), and plans a target for every session it holds.
    /// </summary>
    public NodeDrain Begin(DrainLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ClusterCoordinator cluster = ownership.Coordinator;
        ownership.Draining = true;
        cluster.Draining = true; // carried by the next heartbeat, at most NodeTtl/4 from now
        _startMs = context.NowMs();
        foreach (ServerSession s in ownership.HeldSessions(_startMs))
        {
            _sessions[s.Slot.Id] = s;
        }
        _drain = new NodeDrain(cluster.NodeId, [.. _sessions.Keys], NodesFrom(cluster.Liveness.Snapshot(), cluster.NowMs()), _startMs, limits);
        context.Logger.LogInformation("drain: moving {Count} sessions off node {Node} to {Targets}", _drain.Total, cluster.NodeId,
            _drain.Targets.Count == 0 ? "(no other live node: releasing only)" : string.Join(", ", _drain.Targets.Select(t => t.NodeId)));
        return _drain;
    }

    /// <summary>One step of the drain at the node's time now; true once the node may exit.</summary>
    public bool Step(bool cutShort = false)
    {
        NodeDrain drain = _drain ?? throw new InvalidOperationException("Begin first");
        if (drain.Finished)
        {
            return true;
        }
        ClusterCoordinator cluster = ownership.Coordinator;
        long now = context.NowMs();
        _actions.Clear();
        drain.Tick(cutShort ? now + long.MaxValue / 4 : now, _actions); // cut short: as if every bound had passed
        // Releases first, as one pipelined batch, so each session is released before its SESSION_MOVE leaves.
        _releases.Clear();
        _checks.Clear();
        foreach (DrainAction a in _actions)
        {
            if (_sessions.TryGetValue(a.Session, out ServerSession? s))
            {
                if (a.Step == DrainStep.Release)
                {
                    _releases.Add((s, a.Target?.NodeId ?? ""));
                }
                else if (a.Step == DrainStep.CheckMoved)
                {
                    _checks.Add(s);
                }
            }
        }
        if (_releases.Count > 0)
        {
            TraceEach(_releases, "drain.release_start");
            ownership.ReleaseForDrain(_releases);
            TraceEach(_releases, "drain.released");
            foreach ((ServerSession s, string _) in _releases)
            {
                _forwarding.Add(s);
            }
        }
        Span<byte> frame = stackalloc byte[SessionMoveFrame.Size + 16];
        foreach (DrainAction a in _actions)
        {
            if (a.Step == DrainStep.SendMove && _sessions.TryGetValue(a.Session, out ServerSession? s))
            {
                int n = new SessionMoveFrame(s.Slot.Id, s.Slot.Snapshot().StateVersion, ReasonCode.NodeDrain, a.Target?.Endpoint).Write(frame);
                MoveTrace.Step(context, "drain.move_sent", s.Slot.Id, detail: a.Target?.NodeId ?? "");
                context.Device.SendControl(s.Peer, frame[..n]);
            }
        }
        if (_checks.Count > 0)
        {
            Check(cluster, drain, now);
            drain.CheckRoundDone(context.NowMs());
        }
        StopForwardingArrived(drain);
        if (drain.Finished)
        {
            context.Logger.LogInformation("drain: {Moved} of {Total} sessions moved to other nodes in {Ms} ms; {GivenUp} left to their clients' own failover",
                drain.Moved, drain.Total, now - _startMs, drain.GivenUp);
        }
        return drain.Finished;
    }

    /// <summary>
    /// Make-before-break ends per session (docs/cluster.md "Drain"): once its client was seen on another node, or
    /// the drain gave up on it or ended, this node stops forwarding its traffic.
    /// </summary>
    private void StopForwardingArrived(NodeDrain drain)
    {
        for (int i = _forwarding.Count - 1; i >= 0; i--)
        {
            ServerSession s = _forwarding[i];
            if (!drain.IsMoving(s.Slot.Id))
            {
                ownership.StopForwardingDrained(s);
                MoveTrace.Step(context, "drain.forwarding_stopped", s.Slot.Id);
                _forwarding.RemoveAt(i);
            }
        }
    }

    private void TraceEach(List<(ServerSession Session, string Target)> batch, string step)
    {
        if (!MoveTrace.On(context))
        {
            return;
        }
        foreach ((ServerSession s, string target) in batch)
        {
            MoveTrace.Step(context, step, s.Slot.Id, detail: target);
        }
    }

    /// <summary>
    /// One check round: the records of every session still moving, read in one batch
    /// (<see cref="ISessionStore.ReadMany"/>); another owner (or no record) means the client arrived elsewhere.
    /// </summary>
    private void Check(ClusterCoordinator cluster, NodeDrain drain, long now)
    {
        _checkIds.Clear();
        foreach (ServerSession s in _checks)
        {
            _checkIds.Add(s.Slot.Id);
        }
        IReadOnlyList<StoreResult> results = cluster.Store.ReadMany(_checkIds);
        for (int i = 0; i < _checks.Count && i < results.Count; i++)
        {
            ServerSession s = _checks[i];
            StoreResult r = cluster.Checked(results[i], s.Slot.Id);
            cluster.CountStoreResult(r.Status);
            if (r.Status == StoreStatus.NotFound || r.Status == StoreStatus.Ok && r.Current!.State == SessionState.Terminated)
            {
                drain.OnMoved(s.Slot.Id, now);
                continue;
            }
            if (r.Status != StoreStatus.Ok)
            {
                continue; // store away or malformed: ask again at the next round
            }
            OwnershipRecord rec = r.Current!;
            if (!string.Equals(rec.OwnerNode, cluster.NodeId, StringComparison.Ordinal))
            {
                drain.OnMoved(s.Slot.Id, now);
                MoveTrace.Step(context, "drain.moved_seen", s.Slot.Id, detail: rec.OwnerNode);
                context.PublishLine("SESSION_MOVED", s.Slot.Id, rec.StateVersion, w =>
                {
                    w.WriteString("previous_owner_node_id", cluster.NodeId);
                    w.WriteString("owner_node_id", rec.OwnerNode);
                    w.WriteNumber("owner_epoch", rec.OwnerEpoch);
                });
            }
            else if (!rec.Released)
            {
                // The release did not reach the store (it was away or slow): release again, under the record's own
                // (node epoch, owner_epoch) so a newer owner's record is never touched.
                cluster.CountStoreResult(cluster.Store.Release(s.Slot.Id, cluster.NodeId, rec.OwnerNodeEpoch, rec.OwnerEpoch).Status);
            }
        }
    }
}
