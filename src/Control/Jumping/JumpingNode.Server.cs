using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>The server role: HELLO, REATTACH, KEEPALIVE, PATH_PROBE, TERMINATE and the server half of the sweep.</summary>
public sealed partial class JumpingNode
{
    // ---------------------------------------------------------------- server role

    private void OnServerFrame(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now)
    {
        // One reusable event list per receive thread and the source read straight from the socket
        // address: a keepalive or rejected frame allocates nothing.
        List<AuditEvent> audit = t_serverAudit ??= new List<AuditEvent>(8);
        audit.Clear();
        Span<byte> reply = stackalloc byte[256];
        int n = 0;
        TransportAddress source = TransportAddress.From(from);
        _server.TryGetValue(peer, out ServerSession? s);
        if (s is not null && type is ControlFrameType.Hello or ControlFrameType.ReattachRequest && !AdmitAudited(s, now))
        {
            return; // over the session's tier-0 budget: counted, not processed, not logged
        }
        if (_cluster is not null && !ClusterAdmit(peer, ref s, type, frame, from, now, audit))
        {
            return; // refused from the store's answer, or a session this node may not serve (JumpingNode.Cluster.cs)
        }
        switch (type)
        {
            case ControlFrameType.Hello when HelloFrame.TryParse(frame, out HelloFrame hello):
                {
                    SessionSnapshot? current = s?.Slot.Snapshot();
                    bool resume = s is not null && !hello.ResumeSessionId.IsNone && hello.ResumeSessionId == s.Slot.Id
                        && current is { State: not SessionState.Terminated };
                    if (!resume && LiveServerSessions() >= _policy.MaxSessionsPerNode && current is not { State: not SessionState.Terminated })
                    {
                        // The node states its limit and refuses cleanly beyond it (docs/design.md §3): no session is
                        // created; the client hears why and stays a plain WireGuard peer until it retries.
                        n = new TerminateFrame(SessionId.None, hello.CtrlSeq, 0, ReasonCode.SessionLimitReached).Write(reply);
                        ReportSessionLimit(now);
                        break;
                    }
                    if (!resume)
                    {
                        if (s is not null)
                        {
                            _byId.TryRemove(s.Slot.Id, out _);
                            if (!s.Slot.IsTerminated)
                            {
                                Interlocked.Decrement(ref _liveServerSessions); // replaced without a TERMINATE
                            }
                        }
                        Span<byte> idBytes = stackalloc byte[SessionId.Size];
                        _random(idBytes);
                        var slot = new SessionSlot(SessionId.Read(idBytes), _policy, now, audit);
                        slot.Apply(SessionEvent.HandshakeConfirmed(source, hello.CtrlSeq), now, audit);
                        if (_cluster is not null && !ClusterCreate(peer, s, slot))
                        {
                            // Nothing is committed locally that the store did not take (fail closed).
                            audit.Clear();
                            n = new TerminateFrame(SessionId.None, hello.CtrlSeq, 0, ReasonCode.StoreUnavailable).Write(reply);
                            break;
                        }
                        s = new ServerSession(peer, slot) { Flood = s?.Flood ?? new ControlFloodGuard() };
                        _server[peer] = s;
                        _byId[slot.Id] = s;
                        peer.AllowRoaming = false; // jvpn peers never rebind implicitly (docs/design.md §2.2)
                        peer.Endpoint = EndpointCodec.Copy(from);
                    }
                    else if (current!.Value.Binding != source)
                    {
                        // A resume from a new address (e.g. the client re-handshaked after its path changed)
                        // is a reattach: validated and versioned like any other.
                        SessionOutcome o = ApplyServer(s!, SessionEvent.Reattach(source, hello.CtrlSeq, hello.LastAckedVersion, ReasonCode.TransportDeadRecovery), now, audit);
                        if (o.Kind != SessionOutcomeKind.Rejected)
                        {
                            peer.Endpoint = EndpointCodec.Copy(from);
                        }
                    }
                    s!.IdleAllowanceMs = Math.Min(hello.IdleKeepaliveMs, SessionPolicy.IdleKeepaliveHardCapMs); // docs/paths.md "Idle"
                    SessionSnapshot snap = s.Slot.Snapshot();
                    n = new HelloAckFrame(ControlFrame.ProtocolVersion, resume, ControlCapabilities.None, hello.CtrlSeq, s.Slot.Id,
                        snap.StateVersion, snap.BoundAtVersion, PolicySnapshot.From(_policy)).Write(reply);
                    break;
                }
            case ControlFrameType.ReattachRequest when ReattachRequestFrame.TryParse(frame, out ReattachRequestFrame req):
                {
                    if (s is null || req.SessionId != s.Slot.Id)
                    {
                        n = new ReattachRejectFrame(req.SessionId, req.CtrlSeq, 0, s is null ? ReasonCode.SessionNotFound : ReasonCode.SessionNotFound, 0).Write(reply);
                        break;
                    }
                    SessionOutcome o = ApplyServer(s, SessionEvent.Reattach(source, req.CtrlSeq, req.LastAckedVersion, req.SwitchReason), now, audit);
                    SessionSnapshot snap = s.Slot.Snapshot();
                    if (o.Kind == SessionOutcomeKind.Rejected)
                    {
                        n = new ReattachRejectFrame(s.Slot.Id, req.CtrlSeq, snap.StateVersion, o.Reason, o.RetryAfterMs).Write(reply);
                    }
                    else
                    {
                        peer.Endpoint = EndpointCodec.Copy(from); // the binding moves only here (T7)
                        n = new ReattachAckFrame(s.Slot.Id, req.CtrlSeq, snap.StateVersion, snap.BoundAtVersion, ReasonCode.ReattachSuccess).Write(reply);
                    }
                    break;
                }
            case ControlFrameType.Keepalive when s is not null && KeepaliveFrame.TryParse(frame, out KeepaliveFrame ka):
                {
                    ApplyServer(s, SessionEvent.Keepalive(ka.CtrlSeq), now, audit);
                    n = new KeepaliveAckFrame(ka.CtrlSeq, WallMs(), ka.SendTimestampMs, s.Slot.Snapshot().StateVersion).Write(reply);
                    break;
                }
            case ControlFrameType.PathProbe when PathProbeFrame.TryParse(frame, out PathProbeFrame probe):
                {
                    // Never binds; the reply is no larger than the request (anti-amplification).
                    if (s is not null)
                    {
                        ApplyServer(s, SessionEvent.PathProbe(source, probe.CtrlSeq), now, audit);
                    }
                    n = PathProbeAckFrame.For(probe).Write(reply);
                    break;
                }
            case ControlFrameType.Terminate when s is not null && TerminateFrame.TryParse(frame, out TerminateFrame t):
                {
                    ApplyServer(s, SessionEvent.ClientTerminate(t.CtrlSeq), now, audit);
                    SessionSnapshot snap = s.Slot.Snapshot();
                    n = new TerminateAckFrame(s.Slot.Id, t.CtrlSeq, snap.StateVersion, ReasonCode.ClientTerminated).Write(reply);
                    break;
                }
            default:
                break;
        }
        PublishEvents(audit);
        audit.Clear();
        if (s is not null)
        {
            s.NextCheckMs = 0; // its deadlines may have moved: the next sweep looks again
        }
        if (n > 0)
        {
            // Replies go where the request came from: a rejected reattach must still reach the client.
            // SendControl does not keep the address, so the receive buffer's own is fine.
            _device.SendControl(peer, reply[..n], from);
        }
    }

    [ThreadStatic]
    private static List<AuditEvent>? t_serverAudit;

    private long _controlFloodSuppressed;

    /// <summary>HELLO/REATTACH_REQUEST frames dropped over their session's tier-0 budget (all sessions).</summary>
    public long ControlFloodSuppressed => Interlocked.Read(ref _controlFloodSuppressed);

    /// <summary>
    /// Tier 0 for the frames that write audit lines (docs/protocol.md): within the session's budget they
    /// go on; beyond it they are counted, and only the first of an episode writes a line.
    /// </summary>
    private bool AdmitAudited(ServerSession s, long now)
    {
        FloodVerdict verdict = s.Flood.Admit(now);
        if (verdict == FloodVerdict.Admitted)
        {
            return true;
        }
        Interlocked.Increment(ref _controlFloodSuppressed);
        if (verdict == FloodVerdict.EpisodeStarted)
        {
            PublishFloodLine(s, "start", 1);
        }
        return false;
    }

    /// <summary>The sweep's half: an episode quiet for <see cref="ControlFloodGuard.QuietMs"/> gets its end line.</summary>
    private void EndQuietFloodEpisode(ServerSession s, long now)
    {
        if (s.Flood.TryEndEpisode(now, out long suppressed))
        {
            PublishFloodLine(s, "end", suppressed);
        }
    }

    private long _sessionLimitRefusals;
    private long _sessionLimitLoggedMs = -1;

    /// <summary>
    /// HELLOs refused at the session limit are counted and logged at most once a second with the total:
    /// a client retrying (or flooding) HELLO must not write a log line per frame.
    /// </summary>
    private void ReportSessionLimit(long now)
    {
        long refused = Interlocked.Increment(ref _sessionLimitRefusals);
        long last = Volatile.Read(ref _sessionLimitLoggedMs);
        if ((last >= 0 && now - last < 1000) || Interlocked.CompareExchange(ref _sessionLimitLoggedMs, now, last) != last)
        {
            return;
        }
        _logger.LogWarning("session limit {Limit} reached: refused a new session ({Refused} refused since start)", _policy.MaxSessionsPerNode, refused);
    }

    private void PublishFloodLine(ServerSession s, string phase, long suppressed) =>
        PublishLine("CONTROL_FLOOD_SUPPRESSED", s.Slot.Id, s.Slot.Snapshot().StateVersion, w =>
        {
            w.WriteString("phase", phase);
            w.WriteNumber("suppressed", suppressed);
            w.WriteNumber("rate_per_s", ControlFloodGuard.RatePerSecond);
            w.WriteNumber("burst", ControlFloodGuard.Burst);
        });

    private long LiveServerSessions() => Interlocked.Read(ref _liveServerSessions);

    /// <summary>O(1) lookup by session id (receiver index -> peer -> session is the other O(1) path).</summary>
    public bool TryFindSession(SessionId id, out SessionSnapshot snapshot)
    {
        if (_byId.TryGetValue(id, out ServerSession? s))
        {
            snapshot = s.Slot.Snapshot();
            return true;
        }
        snapshot = default;
        return false;
    }


    /// <summary>
    /// A TERMINATED session stays as a tombstone for tombstone_ttl so late frames get a precise answer
    /// (SESSION_TERMINATED) and ids are never reused (docs/session-spec.md §1.6); then it is evicted, so state per
    /// peer stays bounded. A HELLO from that peer afterwards opens a new session.
    /// </summary>
    private void EvictTombstone(ServerSession s, long now)
    {
        SessionSnapshot snap = s.Slot.Snapshot();
        if (snap.State == SessionState.Terminated && now - snap.LastTransitionMs > _policy.TombstoneTtlMs)
        {
            _byId.TryRemove(s.Slot.Id, out _);
            if (_server.TryRemove(new KeyValuePair<Peer, ServerSession>(s.Peer, s)))
            {
                // No session any more: the peer is a plain WireGuard peer again (roaming) until its next HELLO.
                s.Peer.AllowRoaming = true;
            }
        }
    }

    /// <summary>
    /// Replayed authenticated packets (e.g. a captured REATTACH_REQUEST resent from elsewhere) die in the
    /// WireGuard replay window before the session layer sees them, so they can never change a session;
    /// the sweep reports them as one rate-limited SECURITY_EVENT per sweep (docs/session-spec.md §2.5, TS8).
    /// </summary>
    private void ReportReplays(ServerSession s)
    {
        long drops = s.Peer.ReplayDrops;
        if (drops > s.ReportedReplays)
        {
            long fresh = drops - s.ReportedReplays;
            s.ReportedReplays = drops;
            PublishLine("SECURITY_EVENT", s.Slot.Id, s.Slot.Snapshot().StateVersion, w =>
            {
                w.WriteString("violation_type", "REPLAY_DETECTED");
                w.WriteString("freshness_marker_type", "TRANSPORT_COUNTER");
                w.WriteNumber("count", fresh);
            });
        }
    }

}
