using System.Net;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// Carries out a <see cref="NodeDrain"/> on a cluster node (docs/cluster.md "Drain"): reads the live nodes from the
/// store, releases each session (<see cref="ClusterOwnership.ReleaseForDrain"/>), sends SESSION_MOVE through the
/// session's WireGuard tunnel (so it is authenticated), asks the store who owns the session now, and returns
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
        Span<byte> frame = stackalloc byte[SessionMoveFrame.Size + 16];
        foreach (DrainAction a in _actions)
        {
            if (a.Step == DrainStep.Exit || !_sessions.TryGetValue(a.Session, out ServerSession? s))
            {
                continue;
            }
            switch (a.Step)
            {
                case DrainStep.Release:
                    ownership.ReleaseForDrain(s, a.Target?.NodeId ?? "");
                    break;
                case DrainStep.SendMove:
                    {
                        int n = new SessionMoveFrame(s.Slot.Id, s.Slot.Snapshot().StateVersion, ReasonCode.NodeDrain, a.Target?.Endpoint).Write(frame);
                        context.Device.SendControl(s.Peer, frame[..n]);
                        break;
                    }
                case DrainStep.CheckMoved:
                    Check(cluster, drain, s, now);
                    break;
                default:
                    break;
            }
        }
        if (drain.Finished)
        {
            context.Logger.LogInformation("drain: {Moved} of {Total} sessions moved to other nodes in {Ms} ms; {GivenUp} left to their clients' own failover",
                drain.Moved, drain.Total, now - _startMs, drain.GivenUp);
        }
        return drain.Finished;
    }

    private void Check(ClusterCoordinator cluster, NodeDrain drain, ServerSession s, long now)
    {
        StoreResult r = cluster.Read(s.Slot.Id);
        if (r.Status == StoreStatus.NotFound || r.Status == StoreStatus.Ok && r.Current!.State == SessionState.Terminated)
        {
            drain.OnMoved(s.Slot.Id, now);
            return;
        }
        if (r.Status != StoreStatus.Ok)
        {
            return; // store away or malformed: ask again at the next check
        }
        OwnershipRecord rec = r.Current!;
        if (!string.Equals(rec.OwnerNode, cluster.NodeId, StringComparison.Ordinal))
        {
            drain.OnMoved(s.Slot.Id, now);
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
