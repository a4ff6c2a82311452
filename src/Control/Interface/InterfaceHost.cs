using System.Net;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.KillSwitch;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;
using JumpingVpn.Tunnel.Timers;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Interface;

/// <summary>
/// One running interface, brought up from a wg-quick config in wg-quick(8)'s order: PreUp, socket and
/// keys, TUN device, MTU, addresses, link up, DNS, routes (policy routing for a default route),
/// PostUp; then the UAPI socket. The OS-specific steps come from one <see cref="HostPlatform"/>
/// (Linux: TUN + ip + batched UDP; Windows: Wintun + IP Helper + portable UDP). <see cref="Dispose"/>
/// undoes it in reverse, and what it cannot undo it logs. If the process dies instead, the kernel still deletes the TUN device and with it the
/// addresses and routes; only policy rules of a full tunnel can remain (removed by the next `up`).
/// </summary>
public sealed class InterfaceHost : IDisposable
{
    private readonly TunnelConfig _config;
    private readonly JumpingOptions _options;
    private readonly ILogger _logger;
    private readonly HostPlatform _platform;
    private readonly List<Action> _undo = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _peerNames = new(StringComparer.Ordinal);
    private TunnelLoops? _loops;
    private JumpingNode? _jumping;
    private ClientPaths? _paths;
    private UapiServer? _uapi;
    private TunnelKillSwitch? _killSwitch;
    private bool _started;
    private bool _disposed;

    private InterfaceHost(JumpingOptions options, ILogger logger, HostPlatform platform, HostCapabilities host)
    {
        _options = options;
        _config = options.Config;
        foreach (PeerSection p in _config.Peers)
        {
            if (p.Name is { } peerName)
            {
                _peerNames[Convert.ToHexStringLower(p.PublicKey)] = peerName;
            }
        }
        _logger = logger;
        _platform = platform;
        _host = host;
    }

    private readonly HostCapabilities _host;

    public string Name => _config.InterfaceName;
    public WireGuardDevice? Device { get; private set; }
    public UdpTransport? Udp { get; private set; }
    public TunnelLoops? Loops => _loops;

    /// <summary>Raised when a client asks over the control socket to take the interface down.</summary>
    public event Action? DownRequested;

    /// <summary>Brings the interface up from the typed options of a loaded config (<see cref="JumpingOptionsParser"/>;
    /// `jvpn up --store URL` is already folded into them), with the platform the composition root chooses
    /// (<paramref name="host"/>, <see cref="HostComposition.Current"/> when null).</summary>
    public static InterfaceHost Start(JumpingOptions options, ILogger logger, long? rekeyAfterNs = null, HostCapabilities? host = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        HostCapabilities capabilities = host ?? HostComposition.Current;
        var running = new InterfaceHost(options, logger, capabilities.CreateInterfacePlatform(), capabilities);
        try
        {
            running.Up(rekeyAfterNs);
            return running;
        }
        catch
        {
            running.Dispose();
            throw;
        }
    }

    private void Up(long? rekeyAfterNs)
    {
        InterfaceSection iface = _config.Interface;
        string name = _config.InterfaceName;
        RunHooks("PreUp", iface.PreUp);

        // Resolve endpoints before touching the system, so a typo'd hostname fails cleanly.
        var endpoints = new Dictionary<PeerSection, IPEndPoint>();
        foreach (PeerSection p in _config.Peers)
        {
            if (p.Endpoint is not null)
            {
                endpoints[p] = Resolve(p.Endpoint);
            }
        }
        StartKillSwitch(endpoints);

        // One socket per receive thread, in one SO_REUSEPORT group on the listen port (docs/threads.md "Receive threads").
        int receiveThreads = _options.ReceiveThreads ?? _options.DefaultReceiveThreads(Environment.ProcessorCount);
        UdpTransport[] group = _platform.BindUdpGroup(iface.ListenPort ?? 0, receiveThreads);
        UdpTransport udp = group[0];
        Udp = udp;
        foreach (UdpTransport socket in group)
        {
            _undo.Add(socket.Dispose);
        }
        UdpTransport[] moreReceivers = group[1..];
        _paths = CreateClientPaths(endpoints);
        int mtu = iface.Mtu ?? 1420;
        var device = new WireGuardDevice(
            new DeviceOptions { Mtu = mtu, RekeyAfterTimeNs = rekeyAfterNs ?? ProtocolTimes.DefaultRekeyAfterTime },
            new UdpSender(udp));
        Device = device;
        device.SetPrivateKey(iface.PrivateKey);
        foreach (PeerSection p in _config.Peers)
        {
            Peer peer = device.AddPeer(p.PublicKey, p.PresharedKey ?? new byte[32]);
            foreach (IpPrefix prefix in p.AllowedIps)
            {
                device.AddAllowedIp(peer, prefix);
            }
            if (endpoints.TryGetValue(p, out IPEndPoint? ep))
            {
                WireGuardDevice.SetEndpoint(peer, ep, udp.DualMode);
            }
            peer.Timers.PersistentKeepaliveSeconds = p.PersistentKeepalive ?? 0;
        }

        ITunDevice tun = _platform.CreateTun(name);
        _undo.Add(tun.Dispose);
        // After the device exists (WFP names it by LUID) and before any route leads into it (docs/platform.md §4.8).
        if (_options.KillSwitch)
        {
            _killSwitch!.Enable();
        }
        WatchLan();
        // Every socket of the tunnel carries the mark, and the kill switch's server rule matches it (docs/platform.md §4.8).
        void SetFwMark(uint mark)
        {
            foreach (UdpTransport socket in group)
            {
                socket.SetFwMark(mark);
            }
            _paths?.SetFwMark(mark);
            _killSwitch?.SetMark(mark);
        }
        _platform.Configure(new HostContext(_config, mtu, udp, tun, _undo, _logger, SetFwMark));

        var adapter = new DeviceUapiAdapter(device, () => udp.LocalPort, udp.DualMode, SetFwMark);
        if (iface.FwMark is uint fw)
        {
            SetFwMark(fw);
            adapter.FwMark = fw;
        }
        _loops = new TunnelLoops(device, tun, udp, _logger, _paths?.Set, moreReceivers: moreReceivers);
        _loops.Start();
        _undo.Add(_loops.Stop);
        StartSessionLayer(device);
        // Kick off handshakes with peers that have persistent keepalive (wg-quick behaviour via wg setconf).
        foreach (Peer peer in device.Peers)
        {
            if (peer.Timers.PersistentKeepaliveSeconds > 0)
            {
                device.SendKeepalive(peer);
            }
        }
        try
        {
            _uapi = UapiServer.Start(name, adapter, _logger);
        }
        catch (UapiInterfaceRunningException ex)
        {
            throw new PlatformException(ex.Message + "; stop it first with 'jvpn down " + name + "'", PlatformErrorKind.AlreadyInUse, ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new PlatformException(ex.Message + "; stop it first with 'jvpn down " + name + "'");
        }
        _uapi.Extension = HandleExtension;
        RunHooks("PostUp", iface.PostUp);
        _started = true;
        _logger.LogInformation("{Name} is up: listening on UDP port {Port} with {Threads} receive thread(s), {Peers} peer(s); offloads: TUN TSO/GRO {Tun}, TUN USO/UDP GRO {TunUdp}, UDP GSO {Gso}, UDP GRO {Gro}; AEAD {Aead}",
            name, udp.LocalPort, group.Length, _config.Peers.Count, OnOff(_platform.TunOffloadEnabled(tun)), OnOff(_platform.TunUdpOffloadEnabled(tun)),
            OnOff(udp.GsoEnabled), OnOff(udp.GroEnabled), JumpingVpn.Tunnel.Crypto.AeadBackend.Description);
    }

    /// <summary>
    /// The kill switch (docs/platform.md §4.8), prepared before anything touches the system and switched on once the
    /// TUN device exists, before its routes, so nothing leaves outside the tunnel from the moment it takes the
    /// default route. Its hole for the WireGuard UDP covers every
    /// server endpoint the client may use (the peers' and `[Jumping] Endpoints`), so it holds whichever path or
    /// node carries the session. Built for every interface the OS can guard, so `jvpn killswitch NAME on` works at
    /// run time too; installed here only with `KillSwitch = on`.
    /// </summary>
    private void StartKillSwitch(Dictionary<PeerSection, IPEndPoint> endpoints)
    {
        if (_host.KillSwitch is not { } platform)
        {
            if (_options.KillSwitch)
            {
                throw _options.Error("KillSwitch", "this system has no kill switch (jvpn has one on Linux with nftables and on Windows with WFP)");
            }
            return;
        }
        var servers = new List<IPEndPoint>(endpoints.Values);
        foreach (ConfigEndpoint extra in _options.Endpoints ?? [])
        {
            servers.Add(Resolve(extra));
        }
        var rules = new JumpingVpn.Platform.Net.KillSwitch.KillSwitchRules(Name, servers, _config.Interface.DnsServers, _config.Interface.FwMark);
        _killSwitch = new TunnelKillSwitch(platform, rules, JumpingOptionsParser.IsFullTunnel(_config), _logger,
            _options.KillSwitchAllowLan, () => LanInventory.Read(PathInterfaces(servers)));
        if (!_options.KillSwitch)
        {
            return;
        }
        // A second `jvpn up` of a running interface fails later (its control socket is taken); it must not first
        // replace the running one's rules with its own, whose fwmark may differ.
        if (IsServedElsewhere())
        {
            throw new PlatformException($"interface {Name} is already running; stop it first with 'jvpn down {Name}'", PlatformErrorKind.AlreadyInUse);
        }
    }

    /// <summary>
    /// The interfaces "allow LAN" opens the connected subnets of (docs/platform.md §4.8): the path interfaces, i.e.
    /// those that can reach a server endpoint now (the path manager's own scan); without a path platform, every
    /// interface but loopback and the tunnel.
    /// </summary>
    private HashSet<string> PathInterfaces(List<IPEndPoint> servers)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (_platform.Paths is { } paths)
        {
            foreach (IPEndPoint server in servers)
            {
                foreach (UsableInterface usable in paths.Scan(server.Address, Name))
                {
                    names.Add(usable.Name);
                }
            }
            return names;
        }
        foreach (System.Net.NetworkInformation.NetworkInterface nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.Name != Name && nic.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            {
                names.Add(nic.Name);
            }
        }
        return names;
    }

    /// <summary>
    /// Links or addresses change: "allow LAN" follows the path interfaces' subnets (docs/platform.md §4.8). The
    /// watcher's own thread runs it, never a packet thread; without notifications the subnets are those read when
    /// the switch went on.
    /// </summary>
    private void WatchLan()
    {
        if (_killSwitch is not { FullTunnel: true } killSwitch || _platform.Paths is not { } paths)
        {
            return;
        }
        try
        {
            IDisposable watch = paths.Watch(() =>
            {
                try
                {
                    killSwitch.NetworkChanged();
                }
                catch (PlatformException ex)
                {
                    _logger.LogWarning("{Name}: kill switch: cannot follow the LAN's subnets: {Error}", Name, ex.Message);
                }
            });
            _undo.Add(watch.Dispose);
        }
        catch (Exception ex) when (ex is PlatformException or PlatformNotSupportedException)
        {
            _logger.LogInformation("{Name}: kill switch: no link notifications ({Error}); allow-LAN keeps the subnets read when it was switched on", Name, ex.Message);
        }
    }

    /// <summary>
    /// Resolves an endpoint; a host name that fails while a crashed run's kill switch is in place fails because the
    /// lockdown refuses DNS outside the tunnel (docs/platform.md §4.8), and the error says so and what to do.
    /// </summary>
    private IPEndPoint Resolve(ConfigEndpoint endpoint)
    {
        try
        {
            return endpoint.Resolve();
        }
        catch (ConfigException ex) when (!endpoint.IsLiteral && _host.KillSwitch is { } ks && ks.IsInstalled(Name))
        {
            throw new ConfigException(ex.File, ex.Line, ex.Key,
                $"{ex.Problem ?? ex.Message}; the kill switch a crashed jvpn left in place blocks DNS outside the tunnel: write the endpoint as an IP address (or list the name in /etc/hosts), or lift the lockdown with 'jvpn down {Name}' first",
                ex);
        }
    }

    private bool IsServedElsewhere()
    {
        try
        {
            _ = UapiClient.Get(_host.Uapi, Name);
            return true;
        }
        catch (UapiInterfaceNotRunningException)
        {
            return false;
        }
        catch (UapiException)
        {
            return true;
        }
    }

    /// <summary>
    /// The Jumping session layer (docs/design.md §2.2-§3), unless `[Jumping] SessionLayer = off`. Peers with a
    /// configured endpoint are servers we are a client of; the others are our clients. Policy comes
    /// from the `[Jumping]` section, validated at start (each session keeps the snapshot it began with).
    /// </summary>
    private void StartSessionLayer(WireGuardDevice device)
    {
        SessionLayerMode mode = _options.SessionLayer;
        if (mode == SessionLayerMode.Off)
        {
            return;
        }
        SessionPolicy policy = _options.Policy;
        var clientPeers = new List<Peer>();
        foreach (PeerSection p in _config.Peers)
        {
            bool client = mode == SessionLayerMode.Client || (mode == SessionLayerMode.Auto && p.Endpoint is not null);
            if (client && device.FindPeer(p.PublicKey) is Peer peer)
            {
                clientPeers.Add(peer);
            }
        }
        string nodeId = _options.NodeId;
        var tail = new AuditTail(nodeId);
        _jumping = new JumpingNode(device, policy, clientPeers, tail, _logger) { ClientPaths = _paths };
        JumpingVpn.Control.Cluster.ClusterCoordinator? cluster = StartCluster(device, nodeId, clientPeers, _jumping);
        StartAuditAndMetrics(device, tail, _jumping);
        if (cluster is not null && _jumping.Metrics is { } jm)
        {
            JumpingVpn.Control.Cluster.ClusterSetup.BindMetrics(jm, cluster);
        }
        _jumping.Start();
        _undo.Add(_jumping.Dispose);
        if (cluster is not null)
        {
            // The heartbeat starts with the node; on the way down the node stops first, then its sessions are
            // released (so clients' next node takes them at once), then the store connection closes.
            cluster.Start();
            _undo.Add(cluster.Store.Dispose);
            _undo.Add(cluster.Dispose);
            // `jvpn cluster drain NODE`: drain, then stop as `jvpn down` would (docs/cluster.md "Drain").
            JumpingNode node = _jumping;
            var watch = new JumpingVpn.Control.Cluster.DrainRequestWatch(cluster, cancel =>
            {
                node.Drain(cancel);
                DownRequested?.Invoke();
            }, _logger);
            watch.Start();
            _undo.Add(watch.Dispose);
        }
        StartClientFailover(clientPeers, _jumping);
    }

    /// <summary>
    /// Cluster mode (docs/cluster.md) when `[Jumping] Store` or `--store` names a store: the node joins it,
    /// and every server session is owned through it. Returns null for a single server.
    /// </summary>
    private JumpingVpn.Control.Cluster.ClusterCoordinator? StartCluster(WireGuardDevice device, string nodeId, List<Peer> clientPeers, JumpingNode node)
    {
        if (_options.Cluster is not { } options)
        {
            return null;
        }
        var inner = new Dictionary<Peer, IReadOnlyList<IpPrefix>>();
        var cluster = JumpingVpn.Control.Cluster.ClusterSetup.Start(options.Store, nodeId, device, new HashSet<Peer>(clientPeers), inner, options.AdvertiseEndpoint, _logger);
        JumpingVpn.Control.Cluster.OwnerRouteHooks? hooks = null;
        (string? up, string? down) = (options.OwnerUp, options.OwnerDown);
        if (up is not null || down is not null)
        {
            hooks = new JumpingVpn.Control.Cluster.OwnerRouteHooks(up, down, Name, nodeId, _logger);
            _undo.Add(hooks.Dispose);
        }
        node.UseCluster(cluster, inner, hooks);
        return cluster;
    }

    /// <summary>
    /// `[Jumping] Endpoints = HOST:PORT, ...`: more nodes of the same server cluster for the (single)
    /// server this client talks to; tried in order when the current one stops answering (docs/cluster.md).
    /// </summary>
    private void StartClientFailover(List<Peer> clientPeers, JumpingNode node)
    {
        if (_options.Endpoints is not { } extra || clientPeers.Count == 0)
        {
            return;
        }
        if (clientPeers.Count > 1)
        {
            throw _options.Error("Endpoints", "extra server endpoints need exactly one server peer (one [Peer] with an Endpoint)");
        }
        var endpoints = new List<IPEndPoint>();
        PeerSection section = _config.Peers.First(p => p.Endpoint is not null);
        endpoints.Add(section.Endpoint!.Resolve());
        foreach (ConfigEndpoint ep in extra)
        {
            endpoints.Add(ep.Resolve());
        }
        node.UseServerEndpoints(clientPeers[0], endpoints, Udp!.DualMode);
    }

    /// <summary>
    /// Client path management (docs/design.md §4): with a server endpoint and the session layer on, one socket per
    /// usable interface toward the first server, `[Jumping] Interfaces = wlan0, wwan0` choosing and ordering
    /// them (default: every interface with a route to the server, by route metric); `Paths = off` keeps
    /// the single socket of plain WireGuard.
    /// </summary>
    private ClientPaths? CreateClientPaths(Dictionary<PeerSection, IPEndPoint> endpoints)
    {
        if (_options.SessionLayer is SessionLayerMode.Off or SessionLayerMode.Server || _options.Paths == PathsMode.Off
            || endpoints.Count == 0 || _platform.Paths is not { } platform)
        {
            return null;
        }
        var priority = new List<string>(_options.Interfaces);
        IPEndPoint server = endpoints.Values.First();
        var paths = new ClientPaths(platform, server.Address, _config.InterfaceName, priority, _logger);
        _undo.Add(paths.Dispose);
        return paths;
    }

    /// <summary>
    /// `[Jumping] AuditLog = PATH` writes the audit JSON Lines to a rotated file through the bounded,
    /// non-blocking pipeline (a slow disk drops lines and records AUDIT_GAP; it never stalls packets).
    /// `[Jumping] Metrics = 127.0.0.1:9586` serves Prometheus text on /metrics (loopback only).
    /// </summary>
    private void StartAuditAndMetrics(WireGuardDevice device, AuditTail tail, JumpingNode node)
    {
        var sinks = new List<JumpingVpn.Control.Audit.IAuditSink>();
        if (_options.AuditLog is { } audit)
        {
            sinks.Add(new JumpingVpn.Control.Audit.JsonLinesFileSink(audit.Path.Replace("%i", Name, StringComparison.Ordinal), audit.MaxBytes, audit.Files));
        }
        var pipeline = new JumpingVpn.Control.Audit.AuditPipeline(sinks, new JumpingVpn.Control.Audit.AuditPipelineOptions { NodeId = tail.NodeId });
        _undo.Add(pipeline.Dispose);
        tail.LineWritten += line => pipeline.TryPublish(line);

        if (_options.Metrics is not { } listen)
        {
            return;
        }
        var metrics = new JumpingVpn.Control.Metrics.JvpnMetrics();
        TunnelLoops loops = _loops!;
        metrics.BindTraffic(() => loops.PacketsFromUdp, () => loops.PacketsFromTun, () => SumPeers(device, rx: true), () => SumPeers(device, rx: false));
        metrics.BindHandshakes(() => device.Counters.Handshakes);
        DeviceCounters c = device.Counters;
        metrics.BindDrop("unknown_index", () => c.UnknownIndex);
        metrics.BindDrop("bad_mac", () => c.BadMac);
        metrics.BindDrop("replay", () => c.Replay);
        metrics.BindDrop("expired_keypair", () => c.ExpiredKeypair);
        metrics.BindDrop("source_not_allowed", () => c.SourceNotAllowed);
        metrics.BindDrop("malformed", () => c.Malformed);
        metrics.BindDrop("control_flood", () => node.ControlFloodSuppressed);
        metrics.BindDrop("no_route", () => c.NoRoute);
        metrics.BindDrop("no_endpoint", () => c.NoEndpoint);
        metrics.BindDrop("handshake_rate_limited", () => c.RateLimitedHandshakes);
        metrics.BindDrop("handshake_source_limited", () => loops.HandshakesSourceLimited);
        metrics.BindDrop("handshake_global_limited", () => loops.HandshakesGlobalLimited);
        metrics.BindDrop("handshake_queue_full", () => loops.HandshakesQueueFull);
        metrics.BindDrop("handshake_mac1_invalid", () => loops.HandshakesMac1Invalid);
        metrics.BindDrop("tun_oversized", () => loops.TunOversized);
        metrics.BindLoopFaults("tun_read", () => loops.Faults.Count(PacketLoop.TunRead));
        metrics.BindLoopFaults("udp_receive", () => loops.Faults.Count(PacketLoop.UdpReceive));
        metrics.BindLoopFaults("handshake", () => loops.Faults.Count(PacketLoop.Handshake));
        metrics.BindLoopFaults("timers", () => loops.Faults.Count(PacketLoop.Timers));
        metrics.BindAudit(pipeline);
        node.Metrics = metrics;
        JumpingVpn.Control.Metrics.MetricsEndpoint endpoint;
        try
        {
            endpoint = JumpingVpn.Control.Metrics.MetricsEndpoint.Start(listen, metrics.Registry, _logger);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or System.Net.Sockets.SocketException or ArgumentException)
        {
            throw _options.Error("Metrics", $"cannot serve metrics on '{listen}': {ex.Message} (use a loopback address such as 127.0.0.1:9586)", ex);
        }
        _undo.Add(endpoint.Dispose);
        _logger.LogInformation("{Name}: Prometheus metrics on http://{Endpoint}/metrics", Name, endpoint.LocalEndPoint);
    }

    private static long SumPeers(WireGuardDevice device, bool rx)
    {
        long sum = 0;
        foreach (Peer p in device.Peers)
        {
            sum += rx ? p.RxBytes : p.TxBytes;
        }
        return sum;
    }

    /// <summary>
    /// Names a peer added while running (docs/design.md §7 "Peer names"): only a peer the device has, only a usable name.
    /// </summary>
    private string SetPeerName(IReadOnlyList<string> body)
    {
        if (!PeerNamesReply.TryParseSet(body, out string keyHex, out string name) || Device?.FindPeer(Convert.FromHexString(keyHex)) is null)
        {
            return UapiProtocol.FormatResponse(string.Empty, UapiErrno.Invalid);
        }
        _peerNames[keyHex] = name;
        return UapiProtocol.FormatResponse(string.Empty, UapiErrno.None);
    }

    private string? HandleExtension(string firstLine, IReadOnlyList<string> body)
    {
        if (firstLine == "jvpn_down=1")
        {
            DownRequested?.Invoke();
            return UapiProtocol.FormatResponse(string.Empty, UapiErrno.None);
        }
        if (KillSwitchProtocol.Handle(firstLine, _killSwitch) is { } killSwitchReply)
        {
            return killSwitchReply;
        }
        if (firstLine == "jvpn_stats=1" && Device is { } device && _loops is { } loops)
        {
            return UapiProtocol.FormatResponse(DataPlaneStats.Format(device, loops), UapiErrno.None);
        }
        if (firstLine == PeerNamesReply.Operation)
        {
            return UapiProtocol.FormatResponse(PeerNamesReply.Format(_peerNames), UapiErrno.None);
        }
        if (firstLine == PeerNamesReply.SetOperation)
        {
            return SetPeerName(body);
        }
        if (firstLine == SessionStatusReply.Operation)
        {
            return UapiProtocol.FormatResponse(_jumping?.FormatSessions() ?? string.Empty, UapiErrno.None);
        }
        if (firstLine == SessionPageRequest.Operation)
        {
            // A page of the server sessions (docs/design.md §7 "Session listing"); a bad request earns -EINVAL.
            if (_jumping is not { } node)
            {
                return UapiProtocol.FormatResponse(new SessionPageReply(0, 0, 0, []).Format(), UapiErrno.None);
            }
            string answer = node.AnswerSessionPage(body, out string? refused);
            if (refused is not null)
            {
                _logger.LogWarning("{Name}: {Operation} refused: {Problem}", Name, SessionPageRequest.Operation, refused);
            }
            return answer;
        }
        if (firstLine == "jvpn_events=1")
        {
            // Body: optional cursor=N (the next sequence the reader wants). Reply: JSON lines, then cursor=.
            long cursor = 0;
            foreach (string line in body)
            {
                if (line.StartsWith("cursor=", StringComparison.Ordinal))
                {
                    _ = long.TryParse(line.AsSpan(7), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out cursor);
                }
            }
            var sb = new System.Text.StringBuilder();
            long next = _jumping?.Audit.ReadSince(cursor, sb) ?? 0;
            sb.Append("cursor=").Append(next.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
            return UapiProtocol.FormatResponse(sb.ToString(), UapiErrno.None);
        }
        return null;
    }

    private void RunHooks(string stage, IReadOnlyList<string> commands)
    {
        foreach (string command in commands)
        {
            string cmd = command.Replace("%i", _config.InterfaceName, StringComparison.Ordinal);
            _logger.LogInformation("[#] {Stage}: {Command}", stage, cmd);
            // Hooks print to the console like wg-quick's do, so their output is not captured.
            (string file, string[] arguments) = _platform.HookCommand(cmd);
            int code = ExternalCommand.Run(file, arguments, timeout: TimeSpan.FromSeconds(60), captureOutput: false).ExitCode;
            if (code != 0 && stage is "PreUp" or "PostUp")
            {
                throw new PlatformException($"{stage} command failed with exit code {code}: {cmd}");
            }
        }
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_jumping is { } jumping)
        {
            // A cluster node moves its sessions to the other nodes before it goes (bounded, docs/cluster.md
            // "Drain"); a single server and a node already drained return at once.
            TryRun(() => jumping.Drain());
        }
        if (Device is not null)
        {
            TryRun(() => RunHooks("PreDown", _config.Interface.PreDown));
        }
        for (int i = _undo.Count - 1; i >= 0; i--)
        {
            TryRun(_undo[i]);
        }
        if (Device is not null)
        {
            TryRun(() => RunHooks("PostDown", _config.Interface.PostDown));
        }
        // After the routes are gone, so nothing leaks while the tunnel is torn down; a crash never gets here and
        // leaves the rules in place (lockdown, docs/platform.md §4.8).
        if (_killSwitch is { } killSwitch)
        {
            TryRun(() => killSwitch.Stop(_started));
        }
        // The control socket goes last: its disappearance tells `jvpn down` (and scripts) that the
        // interface, routes and rules are all gone.
        if (_uapi is not null)
        {
            TryRun(_uapi.Dispose);
        }
    }

    private void TryRun(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _logger.LogWarning("teardown step failed: {Message}", ex.Message);
        }
    }

    private sealed class UdpSender(UdpTransport udp) : IDatagramSender
    {
        public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination) => udp.Send(datagram, destination);
    }
}
