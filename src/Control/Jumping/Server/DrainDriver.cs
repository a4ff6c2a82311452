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
    /// The store's node list as the drain needs it. The node registry's detail string is `udp PORT` plus
    /// ` draining` while a node drains (<see cref="DrainingDetail"/>); it names no address, so targets carry
    /// none and clients pick the next node they know (docs/protocol.md §3.7, family 0).
    /// </summary>
    public static List<DrainNode> NodesFrom(IReadOnlyList<ClusterNodeInfo> nodes)
    {
        var list = new List<DrainNode>(nodes.Count);
        foreach (ClusterNodeInfo n in nodes)
        {
            if (StoreRecordCheck.NodeProblem(n) is null)
            {
                list.Add(new DrainNode(n.NodeId, null, IsDraining(n.Detail)));
            }
        }
        return list;
    }

    /// <summary>The detail a draining node publishes, so no other drain sends clients to it.</summary>
    public static string DrainingDetail(string detail) => IsDraining(detail) ? detail : detail + " draining";

    private static bool IsDraining(string detail) => detail.EndsWith(" draining", StringComparison.Ordinal);

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
        cluster.NodeDetail = DrainingDetail(cluster.NodeDetail);
        cluster.Store.Heartbeat(cluster.NodeId, cluster.NodeDetail, cluster.LeaseMs);
        _startMs = context.NowMs();
        foreach (ServerSession s in ownership.HeldSessions(_startMs))
        {
            _sessions[s.Slot.Id] = s;
        }
        _drain = new NodeDrain(cluster.NodeId, [.. _sessions.Keys], NodesFrom(cluster.Store.ListNodes()), _startMs, limits);
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
        else if (rec.LeaseExpiryUnixMs > r.StoreNowUnixMs)
        {
            // A renewal that was in flight when the session was released extended it again: release again.
            cluster.CountStoreResult(cluster.Store.Release(s.Slot.Id, cluster.NodeId, rec.OwnerEpoch).Status);
        }
    }
}
