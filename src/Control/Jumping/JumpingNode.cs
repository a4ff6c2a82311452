using System.Net;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Client;
using JumpingVpn.Control.Jumping.PathSwitching;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Metrics;
using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// The Jumping session layer on one interface (docs/design.md §2.2-§3), wired to the WireGuard core through
/// <see cref="IDeviceObserver"/>. This class only dispatches and owns the lifecycle: each callback goes to
/// the role that serves the peer, and the sweep thread drives both roles' timers.
/// <list type="bullet">
/// <item>peers with a configured endpoint: the <see cref="ClientRole"/> (HELLO, keepalive, reattach,
/// failover to the next cluster node), with the <see cref="PathSwitcher"/> for its paths;</item>
/// <item>every other peer: the <see cref="ServerRole"/> (server sessions), whose
/// <see cref="ISessionOwnership"/> is this node alone or, after <see cref="UseCluster"/>, the cluster store.</item>
/// </list>
/// A peer that never sends HELLO stays a plain WireGuard peer with WireGuard's roaming. Control frames are
/// rare; everything here runs on the receive thread, the handshake thread or the node's 50 ms sweep, except on a
/// started cluster node, where the server frames and sweep work that may wait for the store run on the
/// <see cref="ControlWorkers"/> (docs/threads.md "Control workers").
/// </summary>
public sealed class JumpingNode : IDeviceObserver, IDisposable
{
    private readonly NodeContext _context;
    private readonly ServerSessionTable _serverSessions;
    private readonly ServerRole _server;
    private readonly ClientRole _client;
    private readonly PathSwitcher _paths;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _sweeper;
    private readonly AutoResetEvent _wake = new(false);
    private ClusterCoordinator? _cluster;
    private ClusterOwnership? _ownership;
    private int _drainStarted;
    private ControlWorkers? _workers;
    private readonly SessionListingSource _listing;

    public JumpingNode(WireGuardDevice device, SessionPolicy policy, IEnumerable<Peer> clientRolePeers,
        AuditTail audit, ILogger logger, TimeProvider? time = null, Action<Span<byte>>? random = null)
    {
        _context = new NodeContext(device, policy, audit, logger, time ?? TimeProvider.System);
        _serverSessions = new ServerSessionTable(_context);
        _server = new ServerRole(_context, _serverSessions, random ?? System.Security.Cryptography.RandomNumberGenerator.Fill);
        _paths = new PathSwitcher(_context);
        _client = new ClientRole(_context, clientRolePeers, _paths);
        _sweeper = new Thread(Sweep) { IsBackground = true, Name = "jvpn-sessions" };
        _listing = new SessionListingSource(device, _serverSessions);
    }

    public AuditTail Audit => _context.Audit;

    /// <summary>Prometheus counters fed from the state machine's events (null: metrics off).</summary>
    public JvpnMetrics? Metrics
    {
        get => _context.Metrics;
        set
        {
            _context.Metrics = value;
            if (value is not null)
            {
                BindControlQueueMetrics(value);
            }
        }
    }

    /// <summary>The control workers of a started cluster node (null: a single server, or not started).</summary>
    internal ControlWorkers? Workers => _workers;

    /// <summary>
    /// The control queue in the Prometheus endpoint (docs/cluster.md "Operations"); zero on a single server,
    /// which has no queue.
    /// </summary>
    private void BindControlQueueMetrics(JvpnMetrics metrics)
    {
        metrics.Registry.AddCounter("jvpn_control_queue_dropped_total", "control frames and sweep items dropped because their control worker's queue was full")
            .AddCallback(() => _workers?.Dropped ?? 0);
        metrics.Registry.AddGauge("jvpn_control_queue_depth", "control frames and sweep items queued or running on the control workers")
            .AddCallback(() => _workers?.Depth ?? 0);
        metrics.Registry.AddCounter("jvpn_control_queue_handled_total", "control frames and sweep items the control workers handled")
            .AddCallback(() => _workers?.Handled ?? 0);
        metrics.Registry.AddCounter("jvpn_control_queue_wait_microseconds_total", "time items waited in the control queue before a worker took them (divide by handled for the mean)")
            .AddCallback(() => _workers?.WaitMicrosTotal ?? 0);
        metrics.Registry.AddGauge("jvpn_control_queue_last_wait_microseconds", "how long the most recently taken control queue item had waited")
            .AddCallback(() => _workers?.LastWaitMicros ?? 0);
    }

    /// <summary>Per-interface path sockets for the client sessions; set before <see cref="Start"/>.</summary>
    public ClientPaths? ClientPaths
    {
        get => _paths.Sockets;
        set
        {
            _paths.Sockets = value;
            _client.UsePathManagers(value is not null);
        }
    }

    /// <summary>The node's cluster membership (null: a single server, no store writes).</summary>
    public ClusterCoordinator? Cluster => _cluster;

    /// <summary>HELLO/REATTACH_REQUEST frames dropped over their session's tier-0 budget (all sessions).</summary>
    public long ControlFloodSuppressed => _server.ControlFloodSuppressed;

    /// <summary>
    /// Turns on cluster mode before <see cref="Start"/>: server-role peers stop being routed until this node
    /// owns their session (fail closed), and every server transition goes through the store.
    /// </summary>
    public void UseCluster(ClusterCoordinator cluster, IReadOnlyDictionary<Peer, IReadOnlyList<IpPrefix>> innerPrefixes, OwnerRouteHooks? hooks)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(innerPrefixes);
        _cluster = cluster;
        _listing.Cluster = cluster;
        _listing.ClusterInner = innerPrefixes;
        var ownership = new ClusterOwnership(_context, _serverSessions, cluster, innerPrefixes, hooks);
        _ownership = ownership;
        _server.Ownership = ownership;
        ownership.UnrouteServerPeers(_client.Serves);
    }

    /// <summary>
    /// Moves every session this cluster node owns to the other nodes and returns when they have moved or the
    /// drain's bound passed (docs/cluster.md "Drain"); from its start the node takes no session on. Only the
    /// first call drains (a drain request and the shutdown that follows it both ask); a single server returns at once.
    /// </summary>
    public void Drain(CancellationToken cancel = default)
    {
        if (!BeginDrain(new DrainLimits(), out DrainDriver? driver))
        {
            return;
        }
        // Every few ms: the drain's own timers (SESSION_MOVE every 40 ms, store checks every 50 ms) are the schedule.
        while (!driver!.Step(cancel.IsCancellationRequested))
        {
            Thread.Sleep(5);
        }
    }

    /// <summary>Starts a drain that the caller steps (<see cref="DrainDriver.Step"/>; tests on a manual clock). False: not a cluster node, or a drain already started.</summary>
    internal bool BeginDrain(DrainLimits limits, out DrainDriver? driver)
    {
        driver = null;
        if (_ownership is not { } ownership || Interlocked.Exchange(ref _drainStarted, 1) != 0)
        {
            return false;
        }
        driver = new DrainDriver(_context, ownership);
        driver.Begin(limits);
        return true;
    }

    /// <summary>The cluster nodes of the one server peer, first the configured Endpoint.</summary>
    public void UseServerEndpoints(Peer serverPeer, IReadOnlyList<IPEndPoint> endpoints, bool dualMode) =>
        _client.Failover.UseServerEndpoints(serverPeer, endpoints, dualMode);

    /// <summary>O(1) lookup by session id (receiver index -> peer -> session is the other O(1) path).</summary>
    public bool TryFindSession(SessionId id, out SessionSnapshot snapshot) => _server.TryFindSession(id, out snapshot);

    /// <summary>Per-peer session state for the control socket (jvpn_session=1).</summary>
    public string FormatSessions() => SessionStatusReport.Format(_serverSessions, _client.Sessions, _context.NowMs());

    /// <summary>The control socket's answer to jvpn_sessions=1 (one page of the server sessions, docs/ui.md "Server mode");
    /// <paramref name="refused"/> names what was out of range when the answer is an error.</summary>
    public string AnswerSessionPage(IReadOnlyList<string> body, out string? refused) => _listing.Answer(body, _context.NowMs(), out refused);

    public void Start()
    {
        StartControlWorkers();
        Attach(); // first: the initial path choice may complete a handshake, whose HELLO needs the hooks
        _paths.Sockets?.StartMonitor(WakeSweep);
        _paths.InitialChoice(_client.Sessions);
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

    /// <summary>
    /// A cluster node's control workers (docs/threads.md "Control workers"): from here on no store call runs on the
    /// receive thread or the sweep. A single server has no store, so nothing there can stall, and it keeps
    /// handling frames where they arrive (no hand-off cost). Tests that drive the node by hand
    /// (<see cref="Attach"/>, <see cref="SweepOnce"/>) keep everything inline and deterministic.
    /// </summary>
    internal void StartControlWorkers()
    {
        if (_cluster is null || _workers is not null)
        {
            return;
        }
        _workers = new ControlWorkers(_server, _context.Logger);
        _workers.Start();
        _server.UseWorkers(_workers);
    }

    /// <summary>Hooks into the device without the sweep thread (tests drive <see cref="SweepOnce"/> with a manual clock).</summary>
    internal void Attach() => _context.Device.Observer = this;

    // ---------------------------------------------------------------- hooks from the WireGuard core

    public void OnSessionKeysInstalled(Peer peer, bool weInitiated)
    {
        if (_client.TryGet(peer, out ClientSession? c))
        {
            _client.OnSessionKeysInstalled(c);
        }
        else if (!weInitiated && _cluster is not null)
        {
            MoveTrace.Step(_context, "target.handshake_answered", _serverSessions.TryGet(peer, out ServerSession? s) ? s.Slot.Id : SessionId.None);
        }
    }

    public void OnUnboundSource(Peer peer, SocketAddress from, ReadOnlySpan<byte> plaintext) =>
        _server.OnUnboundSource(peer, from, plaintext);

    public void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, SocketAddress from, IDatagramSender? arrivedVia)
    {
        if (!ControlFrame.TryReadHeader(frame, out ControlFrameType type, out _))
        {
            return;
        }
        long now = _context.NowMs();
        if (_client.TryGet(peer, out ClientSession? c))
        {
            _client.OnFrame(c, type, frame, arrivedVia, now, from);
        }
        else
        {
            _server.OnFrame(peer, type, frame, from, now);
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
        while (WaitHandle.WaitAny(handles, (int)Math.Clamp(_serverSessions.Live / 400, 50, 250)) != 0)
        {
            SweepOnce(audit);
        }
    }

    /// <summary>One pass of the 50 ms sweep: server liveness and timers (then cluster fencing), client retries and keepalives.</summary>
    internal void SweepOnce(List<AuditEvent> audit)
    {
        try
        {
            long now = _context.NowMs();
            _server.Sweep(now, audit);
            _client.Sweep(now);
        }
        catch (Exception ex)
        {
            _context.Logger.LogError(ex, "session sweep failed");
        }
    }

    public void Dispose()
    {
        _client.TerminateAll();
        _stop.Cancel();
        if (_sweeper.IsAlive)
        {
            _sweeper.Join(TimeSpan.FromSeconds(2));
        }
        _context.Device.Observer = null;
        _workers?.Dispose(); // after the observer is gone: nothing queues any more
        _stop.Dispose();
        _wake.Dispose();
    }
}
