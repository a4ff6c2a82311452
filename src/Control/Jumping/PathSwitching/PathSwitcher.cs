using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Client;
using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;

namespace JumpingVpn.Control.Jumping.PathSwitching;

/// <summary>
/// The client's path manager wired to the data plane (docs/design.md §4): the sweep feeds each session's
/// <see cref="PathManager"/> with the interfaces (<see cref="ClientPaths"/>), per-path receive times and
/// our transmit times, and carries out what it decides: PATH_PROBE on a path's socket, REATTACH_REQUEST
/// on the new path, and the switch of the peer's socket (<see cref="Peer.Via"/>) once the server's
/// REATTACH_ACK arrives on it. The decisions are the manager's; this class only turns them into frames
/// and socket choices, under each session's <see cref="ClientSession.PathLock"/>.
/// </summary>
internal sealed class PathSwitcher(NodeContext context)
{
    private readonly WireGuardDevice _device = context.Device;
    private ClientPaths? _sockets;

    /// <summary>Per-interface path sockets for the client sessions (null: one socket, no path management).</summary>
    public ClientPaths? Sockets
    {
        get => _sockets;
        set => _sockets = value;
    }

    /// <summary>Runs the path managers once before any traffic, so the first handshake already leaves
    /// through the preferred interface (the server then binds that path from the start).</summary>
    public void InitialChoice(IEnumerable<ClientSession> sessions)
    {
        long now = context.NowMs();
        foreach (ClientSession c in sessions)
        {
            if (c.Paths is not null)
            {
                Sweep(c, now);
            }
        }
    }

    /// <summary>The session's part of the sweep: feed its path manager and carry out what it decides.</summary>
    public void Sweep(ClientSession c, long now)
    {
        ClientPaths? sockets = _sockets;
        PathManager? m = c.Paths;
        if (sockets is null || m is null)
        {
            return;
        }
        var actions = new List<PathAction>();
        var log = new List<PathDecision>();
        lock (c.PathLock)
        {
            if (sockets.Due(now) && sockets.Refresh(now) is { } current)
            {
                m.SetPaths(current, now, log);
            }
            long nowNs = _device.NowNs();
            foreach (PathEntry p in m.Paths)
            {
                if (sockets.Socket(p.Info.Interface) is { } ps && ps.LastAuthenticatedRxNs != long.MinValue)
                {
                    m.OnAuthenticatedRx(p.Id, now - Math.Max(0, (nowNs - ps.LastAuthenticatedRxNs) / 1_000_000));
                }
            }
            // Data only, at the time it left: control frames (probes, keepalives) are not traffic a user
            // waits for, and stamping them at sweep time made an idle path look silent after every probe.
            if (NodeContext.ToNodeMs(c.Peer.LastDataTxNs, now, nowNs) is long dataTx)
            {
                m.OnTransmit(dataTx);
            }
            if (NodeContext.ToNodeMs(c.Peer.LastDataRxNs, now, nowNs) is long dataRx)
            {
                m.OnDataReceived(dataRx);
            }
            m.SessionBound = c.SessionLayerOn && !c.Id.IsNone && c.State != SessionState.Terminated;
            if (!c.Peer.HasCurrentKeypair && c.Peer.Via is not null && c.HandshakeStalledSinceMs >= 0
                && now - c.HandshakeStalledSinceMs > 5_500)
            {
                m.OnHandshakeStalled(now, actions, log);
                c.HandshakeStalledSinceMs = now;
            }
            else if (c.Peer.HasCurrentKeypair)
            {
                c.HandshakeStalledSinceMs = -1;
            }
            else if (c.HandshakeStalledSinceMs < 0)
            {
                c.HandshakeStalledSinceMs = now;
            }
            m.Tick(now, actions, log);
        }
        foreach (PathAction a in actions)
        {
            Execute(c, a, now);
        }
        PublishDecisions(c, log);
    }

    private void Execute(ClientSession c, PathAction a, long now)
    {
        PathEntry? entry;
        lock (c.PathLock)
        {
            entry = c.Paths?.Find(a.PathId);
        }
        if (entry is null || _sockets?.Socket(entry.Info.Interface) is not { } socket)
        {
            return;
        }
        Span<byte> frame = stackalloc byte[128];
        switch (a.Kind)
        {
            case PathActionKind.Probe:
                {
                    ulong seq = c.TakeCtrlSeq();
                    lock (c.PathLock)
                    {
                        c.Paths?.OnProbeSent(a.PathId, seq, now); // a probe that cannot leave counts as lost
                    }
                    int n = new PathProbeFrame(seq, (uint)a.PathId, context.WallMs()).Write(frame);
                    _device.SendControl(c.Peer, frame[..n], via: socket);
                    break;
                }
            case PathActionKind.Reattach:
                {
                    int n = new ReattachRequestFrame(c.Id, c.TakeCtrlSeq(), c.LastAckedVersion, a.Reason, 0, context.WallMs()).Write(frame);
                    _device.SendControl(c.Peer, frame[..n], via: socket);
                    c.ReattachViaPathStartedMs = now;
                    context.PublishLine("REATTACH_ATTEMPT", c.Id, c.LastAckedVersion, w =>
                    {
                        w.WriteString("switch_reason", WireNames.Of(a.Reason));
                        w.WriteString("interface", entry.Info.Interface);
                    });
                    break;
                }
            case PathActionKind.Use:
                c.Peer.Via = socket;
                if (!c.Peer.HasCurrentKeypair)
                {
                    _device.SendHandshakeInitiation(c.Peer, isRetry: false);
                }
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Control frames whose meaning depends on the path they arrived on. True when fully handled here.
    /// The probe's path id names the path it was sent on; ACKs are matched by the socket they arrived on,
    /// which is the path the server bound (it answers to the request's source).
    /// </summary>
    public bool OnFrame(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, IDatagramSender? arrivedVia, long now)
    {
        PathManager m = c.Paths!;
        string? iface = ClientPaths.InterfaceOf(arrivedVia);
        switch (type)
        {
            case ControlFrameType.ReattachAck when iface is not null && ReattachAckFrame.TryParse(frame, out ReattachAckFrame rack) && rack.SessionId == c.Id:
                {
                    var log = new List<PathDecision>();
                    PathSwitchRecord? record;
                    lock (c.PathLock)
                    {
                        PathEntry? entry = FindByInterface(m, iface);
                        if (entry is null || entry.Id == m.ActiveId && m.PendingId != entry.Id)
                        {
                            return false; // a NAT-rebinding reattach on the active path: the generic handler
                        }
                        record = m.OnSwitchAcked(entry.Id, now, log);
                    }
                    c.Peer.Via = arrivedVia; // from now on everything leaves through the new path
                    c.LastAckedVersion = rack.NewStateVersion;
                    c.BoundAtVersion = rack.BoundAtVersion;
                    c.State = SessionState.Attached;
                    c.LastTransitionMs = now;
                    c.WakeMs = now;
                    c.ReattachDeadlineMs = -1;
                    c.ReattachStartedMs = -1;
                    if (record is { } r)
                    {
                        c.Switches++;
                        c.LastReason = WireNames.Of(r.Reason);
                    }
                    context.PublishLine("REATTACH_RESULT", c.Id, rack.NewStateVersion, w =>
                    {
                        w.WriteString("status", "SUCCESS");
                        w.WriteString("interface", iface);
                        w.WriteNumber("switch_latency_ms", c.ReattachViaPathStartedMs >= 0 ? now - c.ReattachViaPathStartedMs : 0);
                        if (record is { } r2)
                        {
                            w.WriteString("from_interface", r2.From);
                            w.WriteString("switch_reason", WireNames.Of(r2.Reason));
                            w.WriteNumber("gap_ms", r2.GapMs);
                        }
                    });
                    c.ReattachViaPathStartedMs = -1;
                    PublishDecisions(c, log);
                    return true;
                }
            case ControlFrameType.ReattachReject when iface is not null && ReattachRejectFrame.TryParse(frame, out ReattachRejectFrame rej) && rej.SessionId == c.Id
                && rej.Reason is not (ReasonCode.SessionNotFound or ReasonCode.SessionTerminated):
                {
                    var log = new List<PathDecision>();
                    lock (c.PathLock)
                    {
                        PathEntry? entry = FindByInterface(m, iface);
                        if (entry is null || entry.Id != m.PendingId && entry.Id != m.ActiveId)
                        {
                            return false;
                        }
                        if (rej.Reason == ReasonCode.StaleStateVersion && rej.CurrentStateVersion > c.LastAckedVersion)
                        {
                            c.LastAckedVersion = rej.CurrentStateVersion;
                        }
                        bool wasActive = entry.Id == m.ActiveId && m.PendingId != entry.Id;
                        m.OnSwitchRejected(entry.Id, rej.Reason, rej.RetryAfterMs, now, log);
                        if (wasActive && rej.Reason == ReasonCode.InvalidTransportCandidate)
                        {
                            c.Peer.Via = arrivedVia;
                        }
                    }
                    context.PublishLine("REATTACH_RESULT", c.Id, rej.CurrentStateVersion, w =>
                    {
                        w.WriteString("status", "DENIED");
                        w.WriteString("interface", iface);
                        w.WriteString("reason_code", WireNames.Of(rej.Reason));
                    });
                    PublishDecisions(c, log);
                    return true;
                }
            default:
                return false;
        }
    }

    /// <summary>A REBIND_HINT that arrives on a candidate path answers our own probe traffic there, not a NAT change.</summary>
    public static bool IsCandidatePath(ClientSession c, IDatagramSender? arrivedVia) =>
        c.Paths is not null && arrivedVia is PathSocket ps && !ReferenceEquals(c.Peer.Via, ps);

    private static PathEntry? FindByInterface(PathManager m, string iface)
    {
        foreach (PathEntry p in m.Paths)
        {
            if (p.Info.Interface == iface)
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>Every path decision is an audit line with its reason.</summary>
    private void PublishDecisions(ClientSession c, List<PathDecision> log)
    {
        foreach (PathDecision d in log)
        {
            context.PublishLine("PATH_DECISION", c.Id, c.LastAckedVersion, w =>
            {
                w.WriteString("decision", d.Decision);
                w.WriteString("interface", d.Interface);
                if (d.FromInterface is not null)
                {
                    w.WriteString("from_interface", d.FromInterface);
                }
                w.WriteString("reason_code", d.Reason == ReasonCode.None ? "" : WireNames.Of(d.Reason));
                w.WriteString("detail", d.Detail);
                if (d.Decision == "switch")
                {
                    w.WriteNumber("score", Math.Round(d.Score, 1));
                    if (d.FromScore is double fs)
                    {
                        w.WriteNumber("from_score", Math.Round(fs, 1));
                    }
                }
            });
        }
    }
}
