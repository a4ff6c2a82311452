using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// The Jumping session layer on one interface (docs/design.md §2.2-§3), wired to the WireGuard core through
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
        CountLive(events);
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

    /// <summary>
    /// Server sessions that are not TERMINATED, kept as a counter from the events every server-side
    /// transition publishes (SESSION_CREATED +1, STATE_CHANGE to TERMINATED -1), so the session limit
    /// check on HELLO is O(1) instead of a scan of all sessions.
    /// </summary>
    private long _liveServerSessions;

    private void CountLive(List<AuditEvent> events)
    {
        foreach (AuditEvent e in events)
        {
            if (e.Type == AuditEventType.SessionCreated)
            {
                Interlocked.Increment(ref _liveServerSessions);
            }
            else if (e.Type == AuditEventType.StateChange && e.NewState == SessionState.Terminated)
            {
                Interlocked.Decrement(ref _liveServerSessions);
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
            // docs/design.md §2.2: HELLO after every completed handshake, new session or resume.
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
    /// path and never binds (docs/design.md §2.2), HELLO and REATTACH_REQUEST carry their own request. Hinting at
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
            // The frequent answers (several per second while data flows) take a path without lambdas:
            // a capturing lambda anywhere in a method allocates its closure on every call, and the
            // receive loop must allocate nothing per packet.
            if (!TryClientLiveness(c, type, frame, now))
            {
                OnClientFrame(c, type, frame, arrivedVia, now);
            }
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
        // event of a burst: a hard switch should cost one round trip, not a sweep period). Above 20k
        // server sessions the period grows in proportion, at most 250 ms: a pass reads every session's
        // summary, and the server timers it serves are seconds long (docs/scaling.md).
        WaitHandle[] handles = [_stop.Token.WaitHandle, _wake];
        while (WaitHandle.WaitAny(handles, (int)Math.Clamp(Interlocked.Read(ref _liveServerSessions) / 400, 50, 250)) != 0)
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
            // Enumerating the dictionary itself (not .Values, which copies all N) and reading each slot's
            // lock-free summary keeps an idle pass at a few ns per session; only sessions with a due
            // timer, a silent binding or fresh replay drops take their lock (docs/scaling.md).
            foreach (KeyValuePair<Peer, ServerSession> entry in _server)
            {
                ServerSession s = entry.Value;
                if (now < s.NextCheckMs && nowNs < s.NextTransportCheckNs)
                {
                    continue;
                }
                EndQuietFloodEpisode(s, now);
                long lastRx = s.Peer.LastAuthenticatedRxNs;
                bool silent = s.Slot.WatchesTransport && lastRx != long.MinValue && (nowNs - lastRx) / 1_000_000 > SilenceLimitMs(s);
                bool removed = s.Peer.IsRemoved && !s.Slot.IsTerminated;
                if (!silent && !removed && now < s.Slot.NextDueMs && s.Peer.ReplayDrops == s.ReportedReplays)
                {
                    ScheduleCheck(s, now, lastRx);
                    continue;
                }
                audit.Clear();
                if (removed)
                {
                    // The operator removed the peer at run time (UAPI remove=true): its session ends.
                    ApplyServer(s, SessionEvent.Internal(SessionEventKind.OperatorTerminate), now, audit);
                }
                else if (silent)
                {
                    ApplyServer(s, SessionEvent.Internal(SessionEventKind.TransportDead), now, audit);
                }
                ApplyServer(s, SessionEvent.Tick(), now, audit);
                PublishEvents(audit);
                ReportReplays(s);
                EvictTombstone(s, now);
                ScheduleCheck(s, now, s.Peer.LastAuthenticatedRxNs);
            }
            if (_cluster is not null)
            {
                ClusterSweep(now);
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
    /// When the sweep must look at <paramref name="s"/> again: its next timer (at most 1 s ahead, so
    /// replay reports and peer removal are noticed within a second), and, while it watches its binding,
    /// the moment the last authenticated packet becomes older than transport_dead (packets only move
    /// that later, so the session cannot go silent before it).
    /// </summary>
    private void ScheduleCheck(ServerSession s, long nowMs, long lastRxNs)
    {
        s.NextCheckMs = Math.Min(s.Slot.NextDueMs, nowMs + 1000);
        s.NextTransportCheckNs = s.Slot.WatchesTransport && lastRxNs != long.MinValue
            ? lastRxNs + ((SilenceLimitMs(s) + 1) * 1_000_000)
            : long.MaxValue;
    }

    /// <summary>
    /// How long a bound client may be silent before its transport counts as dead: transport_dead after
    /// the keepalive its idle schedule promised (docs/paths.md "Idle"). An idle client that announced
    /// a 25 s interval is not dead at 4 s; one that announced nothing keeps the plain transport_dead.
    /// </summary>
    private long SilenceLimitMs(ServerSession s) => _policy.TransportDeadMs + s.IdleAllowanceMs;

    // ---------------------------------------------------------------- status and audit

    private void PublishLine(string eventType, SessionId id, ulong version, Action<Utf8JsonWriter>? extra) =>
        Audit.Publish(_time.GetUtcNow().ToUnixTimeMilliseconds(), eventType, id, version, extra);

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
