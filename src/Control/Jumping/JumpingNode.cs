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
public sealed partial class JumpingNode : IDeviceObserver, IDisposable
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
    private readonly AutoResetEvent _wake = new(false);

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
        Attach(); // first: the initial path choice may complete a handshake, whose HELLO needs the hooks
        _clientPaths?.StartMonitor(WakeSweep);
        InitialPathChoice();
        _sweeper.Start();
    }

    private void WakeSweep()
    {
        try
        {
            _wake.Set();
        }
        catch (ObjectDisposedException)
        {
            // The node stopped first; the paths' monitor is about to stop too.
        }
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

    public void OnUnboundSource(Peer peer, SocketAddress from, ReadOnlySpan<byte> plaintext)
    {
        if (!_server.TryGetValue(peer, out ServerSession? s) || IsPathControl(plaintext))
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

    /// <summary>
    /// Control frames that speak for themselves from a new address: a PATH_PROBE measures a candidate
    /// path and never binds (DESIGN §2.2), HELLO and REATTACH_REQUEST carry their own request. Hinting at
    /// them would only answer the client's probing of its other interfaces with REBIND_HINTs.
    /// </summary>
    private static bool IsPathControl(ReadOnlySpan<byte> plaintext) =>
        plaintext.Length >= 2 && plaintext[0] == 0x00
        && (ControlFrameType)plaintext[1] is ControlFrameType.PathProbe or ControlFrameType.ReattachRequest or ControlFrameType.Hello;

    public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, SocketAddress from, IDatagramSender? arrivedVia)
    {
        if (!ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _))
        {
            return;
        }
        long now = NowMs();
        if (_client.TryGetValue(peer, out ClientSession? c))
        {
            OnClientFrame(c, type, frame, arrivedVia, now);
        }
        else
        {
            OnServerFrame(peer, type, frame, from, now);
        }
    }

    // ---------------------------------------------------------------- the sweep

    private void Sweep()
    {
        var audit = new List<AuditEvent>();
        // Every 50 ms, or at once when an interface changed (the path manager acts on the first netlink
        // event of a burst: a hard switch should cost one round trip, not a sweep period).
        WaitHandle[] handles = [_stop.Token.WaitHandle, _wake];
        while (WaitHandle.WaitAny(handles, 50) != 0)
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
        _wake.Dispose();
    }
}
