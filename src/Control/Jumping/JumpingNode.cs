using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// The Jumping session layer on one interface (DESIGN §2.2-§3), wired to the WireGuard core through
/// <see cref="IDeviceObserver"/>. Each peer is served in one role:
/// <list type="bullet">
/// <item>server (peers without a configured endpoint): answers HELLO with a session (BIRTH -> ATTACHED),
/// pins the binding (no implicit roaming), answers authenticated traffic from an unbound address with a
/// rate-limited REBIND_HINT, moves the binding only on a validated REATTACH, declares the transport dead
/// when the client goes silent for transport_dead, and lets the state machine's timers run.</item>
/// <item>client (peers with a configured endpoint): sends HELLO after every handshake (resuming its
/// session id), keeps a mirror of the server's state, sends KEEPALIVE when idle, answers REBIND_HINT with
/// REATTACH_REQUEST and retries with backoff inside the recovery window, and starts a new session only
/// after the old one is TERMINATED.</item>
/// </list>
/// A peer that never sends HELLO stays a plain WireGuard peer with WireGuard's roaming. A jvpn client
/// whose server never answers HELLO keeps working over plain WireGuard ("session layer off").
/// Control frames are rare; everything here runs on the receive thread or the node's 50 ms sweep.
/// </summary>
public sealed class JumpingNode : IDeviceObserver, IDisposable
{
    private const int MaxHelloAttempts = 5;
    private readonly WireGuardDevice _device;
    private readonly SessionPolicy _policy;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Peer, ServerSession> _server = new();
    private readonly ConcurrentDictionary<SessionId, ServerSession> _byId = new();
    private readonly ConcurrentDictionary<Peer, ClientSession> _client = new();
    private readonly HashSet<Peer> _clientRole;
    private readonly Action<Span<byte>> _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _sweeper;

    public JumpingNode(WireGuardDevice device, SessionPolicy policy, IEnumerable<Peer> clientRolePeers,
        AuditTail audit, ILogger logger, TimeProvider? time = null, Action<Span<byte>>? random = null)
    {
        _device = device;
        _policy = policy;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _random = random ?? System.Security.Cryptography.RandomNumberGenerator.Fill;
        _clientRole = [.. clientRolePeers];
        Audit = audit;
        foreach (Peer p in _clientRole)
        {
            _client[p] = new ClientSession(p);
        }
        _sweeper = new Thread(Sweep) { IsBackground = true, Name = "jvpn-sessions" };
    }

    public AuditTail Audit { get; }

    /// <summary>Prometheus counters fed from the state machine's events (null: metrics off).</summary>
    public JumpingVpn.Control.Metrics.JvpnMetrics? Metrics { get; set; }

    /// <summary>Audit lines for the events, and the metrics they imply (one place, so both always agree).</summary>
    private void PublishEvents(List<AuditEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }
        Audit.Publish(events, WallOffsetMs());
        if (Metrics is not { } m)
        {
            return;
        }
        foreach (AuditEvent e in events)
        {
            switch (e.Type)
            {
                case AuditEventType.SessionCreated:
                    m.SessionCreated(WireNames.Of(SessionState.Birth));
                    break;
                case AuditEventType.StateChange:
                    m.Transition(WireNames.Of(e.PreviousState), WireNames.Of(e.NewState), WireNames.Of(e.Reason));
                    break;
                case AuditEventType.TransportSwitch:
                    m.Switch();
                    break;
                case AuditEventType.ReattachResult when e.Reason != ReasonCode.ReattachSuccess:
                    m.ReattachRejected(WireNames.Of(e.Reason));
                    break;
                default:
                    break;
            }
        }
    }

    public void Start()
    {
        Attach();
        _sweeper.Start();
    }

    /// <summary>Hooks into the device without the sweep thread (tests drive <see cref="SweepOnce"/> with a manual clock).</summary>
    internal void Attach() => _device.Observer = this;

    private long NowMs() => _time.GetTimestamp() * 1000 / _time.TimestampFrequency;

    private long WallOffsetMs() => _time.GetUtcNow().ToUnixTimeMilliseconds() - NowMs();

    private ulong WallMs() => (ulong)_time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---------------------------------------------------------------- hooks from the WireGuard core

    public void OnSessionKeysInstalled(Peer peer, bool weInitiated)
    {
        if (_client.TryGetValue(peer, out ClientSession? c))
        {
            // DESIGN §2.2: HELLO after every completed handshake, new session or resume.
            SendHello(c, NowMs());
        }
    }

    public void OnUnboundSource(Peer peer, SocketAddress from)
    {
        if (!_server.TryGetValue(peer, out ServerSession? s))
        {
            return;
        }
        long now = NowMs();
        if (now < s.NextHintCheckMs)
        {
            return; // cheap per-packet gate before any conversion or allocation
        }
        s.NextHintCheckMs = now + 50;
        var observed = TransportAddress.From(EndpointCodec.ToIPEndPoint(from));
        if (s.Slot.TryTakeRebindHint(observed, now, out ulong version))
        {
            Span<byte> frame = stackalloc byte[64];
            int n = new RebindHintFrame(s.Slot.Id, version).Write(frame);
            _device.SendControl(peer, frame[..n], EndpointCodec.Copy(from));
            PublishLine("REBIND_HINT_SENT", s.Slot.Id, version, w => w.WriteString("observed", observed.ToString()));
        }
    }

    public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, SocketAddress from)
    {
        if (!ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _))
        {
            return;
        }
        long now = NowMs();
        if (_client.TryGetValue(peer, out ClientSession? c))
        {
            OnClientFrame(c, type, frame, now);
        }
        else
        {
            OnServerFrame(peer, type, frame, from, now);
        }
    }

    // ---------------------------------------------------------------- server role

    private void OnServerFrame(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now)
    {
        var audit = new List<AuditEvent>();
        Span<byte> reply = stackalloc byte[256];
        int n = 0;
        TransportAddress source = TransportAddress.From(EndpointCodec.ToIPEndPoint(from));
        _server.TryGetValue(peer, out ServerSession? s);
        switch (type)
        {
            case ControlFrameType.Hello when HelloFrame.TryParse(frame, out HelloFrame hello):
                {
                    SessionSnapshot? current = s?.Slot.Snapshot();
                    bool resume = s is not null && !hello.ResumeSessionId.IsNone && hello.ResumeSessionId == s.Slot.Id
                        && current is { State: not SessionState.Terminated };
                    if (!resume && LiveServerSessions() >= _policy.MaxSessionsPerNode && current is not { State: not SessionState.Terminated })
                    {
                        // The node states its limit and refuses cleanly beyond it (DESIGN §3): no session is
                        // created; the client hears why and stays a plain WireGuard peer until it retries.
                        n = new TerminateFrame(SessionId.None, hello.CtrlSeq, 0, ReasonCode.SessionLimitReached).Write(reply);
                        _logger.LogWarning("session limit {Limit} reached: refused a new session", _policy.MaxSessionsPerNode);
                        break;
                    }
                    if (!resume)
                    {
                        if (s is not null)
                        {
                            _byId.TryRemove(s.Slot.Id, out _);
                        }
                        Span<byte> idBytes = stackalloc byte[SessionId.Size];
                        _random(idBytes);
                        var slot = new SessionSlot(SessionId.Read(idBytes), _policy, now, audit);
                        slot.Apply(SessionEvent.HandshakeConfirmed(source, hello.CtrlSeq), now, audit);
                        s = new ServerSession(peer, slot);
                        _server[peer] = s;
                        _byId[slot.Id] = s;
                        peer.AllowRoaming = false; // jvpn peers never rebind implicitly (DESIGN §2.2)
                        peer.Endpoint = EndpointCodec.Copy(from);
                    }
                    else if (current!.Value.Binding != source)
                    {
                        // A resume from a new address (e.g. the client re-handshaked after its path changed)
                        // is a reattach: validated and versioned like any other.
                        SessionOutcome o = s!.Slot.Apply(SessionEvent.Reattach(source, hello.CtrlSeq, hello.LastAckedVersion, ReasonCode.TransportDeadRecovery), now, audit);
                        if (o.Kind != SessionOutcomeKind.Rejected)
                        {
                            peer.Endpoint = EndpointCodec.Copy(from);
                        }
                    }
                    SessionSnapshot snap = s!.Slot.Snapshot();
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
                    SessionOutcome o = s.Slot.Apply(SessionEvent.Reattach(source, req.CtrlSeq, req.LastAckedVersion, req.SwitchReason), now, audit);
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
                    s.Slot.Apply(SessionEvent.Keepalive(ka.CtrlSeq), now, audit);
                    n = new KeepaliveAckFrame(ka.CtrlSeq, WallMs(), ka.SendTimestampMs, s.Slot.Snapshot().StateVersion).Write(reply);
                    break;
                }
            case ControlFrameType.PathProbe when PathProbeFrame.TryParse(frame, out PathProbeFrame probe):
                {
                    // Never binds; the reply is no larger than the request (anti-amplification).
                    s?.Slot.Apply(SessionEvent.PathProbe(source, probe.CtrlSeq), now, audit);
                    n = PathProbeAckFrame.For(probe).Write(reply);
                    break;
                }
            case ControlFrameType.Terminate when s is not null && TerminateFrame.TryParse(frame, out TerminateFrame t):
                {
                    s.Slot.Apply(SessionEvent.ClientTerminate(t.CtrlSeq), now, audit);
                    SessionSnapshot snap = s.Slot.Snapshot();
                    n = new TerminateAckFrame(s.Slot.Id, t.CtrlSeq, snap.StateVersion, ReasonCode.ClientTerminated).Write(reply);
                    break;
                }
            default:
                break;
        }
        PublishEvents(audit);
        if (n > 0)
        {
            // Replies go where the request came from: a rejected reattach must still reach the client.
            _device.SendControl(peer, reply[..n], EndpointCodec.Copy(from));
        }
    }

    private int LiveServerSessions()
    {
        int live = 0;
        foreach (ServerSession s in _server.Values)
        {
            if (s.Slot.Snapshot().State != SessionState.Terminated)
            {
                live++;
            }
        }
        return live;
    }

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

    // ---------------------------------------------------------------- client role

    private void SendHello(ClientSession c, long now)
    {
        Span<byte> frame = stackalloc byte[128];
        bool resume = !c.Id.IsNone && c.State != SessionState.Terminated;
        int n = new HelloFrame(ControlFrame.ProtocolVersion, ControlCapabilities.None, c.TakeCtrlSeq(),
            resume ? c.Id : SessionId.None, resume ? c.LastAckedVersion : 0, WallMs()).Write(frame);
        if (_device.SendControl(c.Peer, frame[..n]))
        {
            c.HelloDeadlineMs = now + 1000;
            c.HelloAttempts++;
        }
    }

    private void SendReattach(ClientSession c, long now, ReasonCode reason)
    {
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachRequestFrame(c.Id, c.TakeCtrlSeq(), c.LastAckedVersion, reason, 0, WallMs()).Write(frame);
        _device.SendControl(c.Peer, frame[..n]);
        c.ReattachAttempts++;
        // Backoff 100, 200, 400 ... ms, capped at 2 s, inside the recovery window (session-spec §1.8).
        c.ReattachDeadlineMs = now + Math.Min(2000, 100L << Math.Min(c.ReattachAttempts, 5));
        PublishLine("REATTACH_ATTEMPT", c.Id, c.LastAckedVersion, w =>
        {
            w.WriteString("switch_reason", WireNames.Of(reason));
            w.WriteNumber("attempt", c.ReattachAttempts);
        });
    }

    private void OnClientFrame(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, long now)
    {
        switch (type)
        {
            case ControlFrameType.HelloAck when HelloAckFrame.TryParse(frame, out HelloAckFrame ack):
                if (!c.Id.IsNone && ack.SessionId != c.Id)
                {
                    PublishLine("SESSION_REPLACED", ack.SessionId, ack.StateVersion, w => w.WriteString("previous_session_id", c.Id.ToString()));
                }
                else if (c.Id.IsNone)
                {
                    PublishLine("SESSION_ESTABLISHED", ack.SessionId, ack.StateVersion, null);
                }
                c.Id = ack.SessionId;
                c.LastAckedVersion = ack.StateVersion;
                c.BoundAtVersion = ack.BoundAtVersion;
                c.State = SessionState.Attached;
                c.SessionLayerOn = true;
                c.HelloDeadlineMs = -1;
                c.HelloAttempts = 0;
                c.LastTransitionMs = now;
                break;
            case ControlFrameType.RebindHint when RebindHintFrame.TryParse(frame, out RebindHintFrame hint) && hint.SessionId == c.Id:
                if (hint.StateVersion > c.LastAckedVersion)
                {
                    c.LastAckedVersion = hint.StateVersion;
                }
                if (c.ReattachDeadlineMs < 0)
                {
                    c.ReattachAttempts = 0;
                    c.ReattachStartedMs = now;
                    SendReattach(c, now, ReasonCode.NatRebind);
                }
                break;
            case ControlFrameType.ReattachAck when ReattachAckFrame.TryParse(frame, out ReattachAckFrame rack) && rack.SessionId == c.Id:
                c.LastAckedVersion = rack.NewStateVersion;
                c.BoundAtVersion = rack.BoundAtVersion;
                c.State = SessionState.Attached;
                c.Switches++;
                c.LastReason = "REATTACH_SUCCESS";
                c.LastTransitionMs = now;
                PublishLine("REATTACH_RESULT", c.Id, rack.NewStateVersion, w =>
                {
                    w.WriteString("status", "SUCCESS");
                    w.WriteNumber("switch_latency_ms", c.ReattachStartedMs >= 0 ? now - c.ReattachStartedMs : 0);
                });
                c.ReattachDeadlineMs = -1;
                c.ReattachStartedMs = -1;
                break;
            case ControlFrameType.ReattachReject when ReattachRejectFrame.TryParse(frame, out ReattachRejectFrame rej) && rej.SessionId == c.Id:
                PublishLine("REATTACH_RESULT", c.Id, rej.CurrentStateVersion, w =>
                {
                    w.WriteString("status", "DENIED");
                    w.WriteString("reason_code", WireNames.Of(rej.Reason));
                });
                if (rej.Reason is ReasonCode.SessionNotFound or ReasonCode.SessionTerminated)
                {
                    // The old session is gone: start a new one explicitly (session-spec §1.8).
                    c.State = SessionState.Terminated;
                    c.ReattachDeadlineMs = -1;
                    c.HelloAttempts = 0;
                    SendHello(c, now);
                }
                else if (rej.Reason == ReasonCode.StaleStateVersion && rej.CurrentStateVersion > 0)
                {
                    c.LastAckedVersion = rej.CurrentStateVersion;
                    c.ReattachDeadlineMs = now + Math.Max(50, rej.RetryAfterMs);
                }
                else
                {
                    c.ReattachDeadlineMs = now + Math.Max(100, rej.RetryAfterMs);
                }
                break;
            case ControlFrameType.KeepaliveAck when KeepaliveAckFrame.TryParse(frame, out KeepaliveAckFrame kack):
                c.RttMs = Math.Max(0, (long)WallMs() - (long)kack.EchoTimestampMs);
                if (kack.StateVersion > c.LastAckedVersion)
                {
                    c.LastAckedVersion = kack.StateVersion;
                }
                break;
            case ControlFrameType.Terminate when TerminateFrame.TryParse(frame, out TerminateFrame t) && t.SessionId.IsNone:
                // Refused before any session existed (e.g. SESSION_LIMIT_REACHED): stay plain WireGuard.
                c.HelloDeadlineMs = -1;
                c.SessionLayerOn = false;
                c.LastReason = WireNames.Of(t.Reason);
                PublishLine("SESSION_REFUSED", SessionId.None, 0, w => w.WriteString("reason_code", WireNames.Of(t.Reason)));
                break;
            case ControlFrameType.TerminateAck:
            case ControlFrameType.Terminate:
                c.State = SessionState.Terminated;
                PublishLine("SESSION_TERMINATED", c.Id, c.LastAckedVersion, null);
                break;
            default:
                break;
        }
    }

    // ---------------------------------------------------------------- the sweep

    private void Sweep()
    {
        var audit = new List<AuditEvent>();
        while (!_stop.Token.WaitHandle.WaitOne(50))
        {
            SweepOnce(audit);
        }
    }

    /// <summary>One pass of the 50 ms sweep: server liveness and timers, client retries and keepalives.</summary>
    internal void SweepOnce(List<AuditEvent> audit)
    {
        try
        {
            long now = NowMs();
            long nowNs = _device.NowNs();
            foreach (ServerSession s in _server.Values)
            {
                audit.Clear();
                SessionSnapshot snap = s.Slot.Snapshot();
                long lastRx = s.Peer.LastAuthenticatedRxNs;
                if (snap.Binding is not null && snap.State is SessionState.Attached or SessionState.Volatile or SessionState.Degraded
                    && lastRx != long.MinValue && (nowNs - lastRx) / 1_000_000 > _policy.TransportDeadMs)
                {
                    s.Slot.Apply(SessionEvent.Internal(SessionEventKind.TransportDead), now, audit);
                }
                s.Slot.Apply(SessionEvent.Tick(), now, audit);
                PublishEvents(audit);
                ReportReplays(s);
                EvictTombstone(s, now);
            }
            foreach (ClientSession c in _client.Values)
            {
                SweepClient(c, now);
            }
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "session sweep failed");
        }
    }

    /// <summary>
    /// A TERMINATED session stays as a tombstone for tombstone_ttl so late frames get a precise answer
    /// (SESSION_TERMINATED) and ids are never reused (session-spec §1.6); then it is evicted, so state per
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
    /// the sweep reports them as one rate-limited SECURITY_EVENT per sweep (session-spec §2.5, TS8).
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

    private void SweepClient(ClientSession c, long now)
    {
        if (!c.Peer.HasCurrentKeypair)
        {
            return;
        }
        if (c.HelloDeadlineMs >= 0 && now >= c.HelloDeadlineMs)
        {
            if (c.HelloAttempts >= MaxHelloAttempts)
            {
                // No HELLO_ACK: a plain WireGuard server. Keep going on WireGuard alone (DESIGN §2.2).
                c.HelloDeadlineMs = -1;
                c.SessionLayerOn = false;
                _logger.LogInformation("peer {Peer} does not speak the Jumping session layer; continuing as plain WireGuard",
                    Convert.ToBase64String(c.Peer.PublicKey));
            }
            else
            {
                SendHello(c, now);
            }
        }
        if (!c.SessionLayerOn)
        {
            return;
        }
        if (c.ReattachDeadlineMs >= 0 && now >= c.ReattachDeadlineMs)
        {
            if (c.ReattachStartedMs >= 0 && now - c.ReattachStartedMs > _policy.RecoveryWindowMs)
            {
                c.State = SessionState.Degraded; // keep trying, more slowly
            }
            SendReattach(c, now, ReasonCode.NatRebind);
        }
        // Liveness (DESIGN §3 heartbeat / transport_dead): the server answers every KEEPALIVE, so silence
        // for transport_dead means the path or the server is gone. A restarted server no longer knows our
        // keys and drops everything as an unknown index; WireGuard alone would wait 15 s
        // (KeepaliveTimeout + RekeyTimeout) before rehandshaking. Start the handshake now; the HELLO after
        // it resumes the session, or tells us the server lost it (SESSION_REPLACED).
        long lastRx = c.Peer.LastAuthenticatedRxNs;
        long silentMs = lastRx == long.MinValue ? 0 : (_device.NowNs() - lastRx) / 1_000_000;
        if (silentMs > _policy.TransportDeadMs && now >= c.NextRehandshakeMs)
        {
            c.NextRehandshakeMs = now + 5_000; // WireGuard's RekeyTimeout: at most one initiation per 5 s
            c.State = SessionState.Recovering;
            c.LastReason = "TRANSPORT_DEAD";
            c.LastTransitionMs = now;
            PublishLine("TRANSPORT_DEAD", c.Id, c.LastAckedVersion, w => w.WriteNumber("silent_ms", silentMs));
            _device.SendHandshakeInitiation(c.Peer, isRetry: false);
        }
        // KEEPALIVE when idle (DESIGN §2.2), and also while traffic flows but replies stopped, so the
        // server's answer proves the path (the client may probe faster then, DESIGN §3).
        long tx = c.Peer.TxBytes;
        if (now - c.LastKeepaliveMs >= _policy.HeartbeatIntervalMs)
        {
            if (tx == c.LastTxBytes || silentMs >= _policy.HeartbeatIntervalMs)
            {
                Span<byte> frame = stackalloc byte[64];
                int n = new KeepaliveFrame(c.TakeCtrlSeq(), WallMs(), 0, c.LastAckedVersion).Write(frame);
                _device.SendControl(c.Peer, frame[..n]);
            }
            c.LastKeepaliveMs = now;
            c.LastTxBytes = c.Peer.TxBytes;
        }
    }

    // ---------------------------------------------------------------- status and audit

    private void PublishLine(string eventType, SessionId id, ulong version, Action<Utf8JsonWriter>? extra)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("ts_ms", _time.GetUtcNow().ToUnixTimeMilliseconds());
            w.WriteString("event_type", eventType);
            w.WriteString("session_id", id.ToString());
            w.WriteString("node_id", Audit.NodeId);
            w.WriteNumber("state_version", version);
            extra?.Invoke(w);
            w.WriteEndObject();
        }
        Audit.Publish(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>Per-peer session state as key=value lines for the control socket (jvpn_session=1).</summary>
    public string FormatSessions()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        long now = NowMs();
        foreach (ServerSession s in _server.Values)
        {
            SessionSnapshot snap = s.Slot.Snapshot();
            sb.Append(inv, $"public_key={Convert.ToHexStringLower(s.Peer.PublicKey)}\n");
            sb.Append("role=server\n");
            sb.Append(inv, $"session_id={s.Slot.Id}\n");
            sb.Append(inv, $"state={WireNames.Of(snap.State)}\n");
            sb.Append(inv, $"state_version={snap.StateVersion}\n");
            sb.Append(inv, $"bound_at_version={snap.BoundAtVersion}\n");
            sb.Append(inv, $"bound_endpoint={(snap.Binding is { } b ? b.ToString() : "")}\n");
            sb.Append(inv, $"last_reason={WireNames.Of(snap.LastReason)}\n");
            sb.Append(inv, $"last_transition_age_ms={Math.Max(0, now - snap.LastTransitionMs)}\n");
            sb.Append(inv, $"switches={snap.TotalSwitches}\n");
        }
        foreach (ClientSession c in _client.Values)
        {
            sb.Append(inv, $"public_key={Convert.ToHexStringLower(c.Peer.PublicKey)}\n");
            sb.Append("role=client\n");
            sb.Append(inv, $"session_layer={(c.SessionLayerOn ? "on" : "off")}\n");
            sb.Append(inv, $"session_id={(c.Id.IsNone ? "" : c.Id.ToString())}\n");
            sb.Append(inv, $"state={WireNames.Of(c.State)}\n");
            sb.Append(inv, $"state_version={c.LastAckedVersion}\n");
            sb.Append(inv, $"bound_at_version={c.BoundAtVersion}\n");
            sb.Append(inv, $"bound_endpoint={(c.Peer.Endpoint is { } ep ? EndpointCodec.ToIPEndPoint(ep).ToString() : "")}\n");
            sb.Append(inv, $"last_reason={c.LastReason ?? ""}\n");
            sb.Append(inv, $"last_transition_age_ms={(c.LastTransitionMs > 0 ? now - c.LastTransitionMs : -1)}\n");
            sb.Append(inv, $"switches={c.Switches}\n");
            sb.Append(inv, $"rtt_ms={c.RttMs}\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// Ends client sessions explicitly (TERMINATE, CLIENT_TERMINATED) so the server does not have to wait
    /// for transport_lost_ttl; best effort, one frame each, before the interface goes away.
    /// </summary>
    private void TerminateClientSessions()
    {
        Span<byte> frame = stackalloc byte[64];
        foreach (ClientSession c in _client.Values)
        {
            if (c.SessionLayerOn && !c.Id.IsNone && c.State != SessionState.Terminated)
            {
                int n = new TerminateFrame(c.Id, c.TakeCtrlSeq(), c.LastAckedVersion, ReasonCode.ClientTerminated).Write(frame);
                _device.SendControl(c.Peer, frame[..n]);
                c.State = SessionState.Terminated;
                PublishLine("SESSION_TERMINATED", c.Id, c.LastAckedVersion, w => w.WriteString("reason_code", "CLIENT_TERMINATED"));
            }
        }
    }

    public void Dispose()
    {
        TerminateClientSessions();
        _stop.Cancel();
        if (_sweeper.IsAlive)
        {
            _sweeper.Join(TimeSpan.FromSeconds(2));
        }
        _device.Observer = null;
        _stop.Dispose();
    }
}
