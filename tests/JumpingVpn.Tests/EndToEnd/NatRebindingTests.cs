using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// The client sits behind a masquerading router (<see cref="NatTopology"/>). Mid-stream the router
/// forgets the mapping and picks a new public source port, as home routers do after a UDP timeout or
/// a reboot. The tunnel must carry on: the server must move its idea of the client's endpoint, and a
/// TCP connection running inside the tunnel must not notice more than a short stall.
/// With a jvpn server the Jumping session layer handles it (docs/design.md §2.2): the binding never moves
/// implicitly; the server answers authenticated traffic from the new address with REBIND_HINT, the
/// client sends REATTACH_REQUEST (NAT_REBIND), and the session keeps its id with contiguous versions.
/// With a wireguard-go server (no HELLO_ACK) the jvpn client runs with the session layer off and
/// WireGuard's implicit roaming recovers (WireGuard paper §2.1).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class NatRebindingTests
{
    private const int TransferSeconds = 12;

    /// <summary>Paced so the ping measures the rebinding, not congestion: unpaced, wireguard-go's
    /// queues overflow on these 2 CPUs (~120k TCP retransmits, 15-20 % ping loss with no rebinding
    /// involved).</summary>
    private const string TransferBitrate = "200M";
    private static readonly TimeSpan PingDuration = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RebindAfter = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(PeerKind.Jvpn, PeerKind.Jvpn)]
    [InlineData(PeerKind.WireGuardGo, PeerKind.Jvpn)]
    [InlineData(PeerKind.Jvpn, PeerKind.WireGuardGo)]
    internal void Nat_rebinding_mid_stream_keeps_the_tunnel(PeerKind server, PeerKind client)
    {
        Requirements.Ensure(server == PeerKind.WireGuardGo || client == PeerKind.WireGuardGo
            ? ["jvpn", "wireguard-go", "wg", "ping", "iperf3", "nft", "conntrack"]
            : ["jvpn", "wg", "ping", "iperf3", "nft", "conntrack"]);
        using NatTopology nat = NatTopology.Create();
        using NatTunnel tunnel = nat.StartTunnel(server, client);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        IPEndPointText before = tunnel.ServerViewOfClient()
            ?? throw new InvalidOperationException($"the server has no endpoint for the client after the handshake\n{tunnel.Describe()}");
        Assert.Equal(nat.RouterPublicV4, before.Host);

        bool sessionLayer = server == PeerKind.Jvpn && client == PeerKind.Jvpn;
        SessionView? sessionBefore = sessionLayer ? SessionStatus.WaitForAttached((JvpnPeer)tunnel.Server, TimeSpan.FromSeconds(5)) : null;

        using Iperf3Transfer transfer = Iperf3Transfer.Start(nat.Server, TwoHostTopology.ServerTunnelV4, nat.Client, TransferSeconds, bitrate: TransferBitrate);
        GapMeter meter = GapMeter.Start(nat.Client, TwoHostTopology.ServerTunnelV4, PingDuration);
        Thread.Sleep(RebindAfter);
        DateTimeOffset rebindAt = DateTimeOffset.UtcNow;
        NatPortRange range = nat.ForceNatRebinding();
        NatMapping? mapping = nat.WaitForMapping(range, TimeSpan.FromSeconds(5));
        IPEndPointText? after = tunnel.WaitForServerViewOfClient(range.Contains, TimeSpan.FromSeconds(5));
        TimeSpan moved = DateTimeOffset.UtcNow - rebindAt;
        GapReport gap = meter.Wait();
        Iperf3TransferResult result = transfer.Wait();

        TunnelScenarios.Log($"NAT rebinding ({client} client, {server} server): server saw {before}, then {after?.ToString() ?? "(none)"} " +
            string.Create(CultureInfo.InvariantCulture, $"(new range {range}, seen within {moved.TotalMilliseconds:0} ms; conntrack mapping {mapping})"));
        TimeSpan? rebindGap = gap.GapAround(rebindAt);
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"rebinding at +{(rebindAt - gap.StartedAt).TotalSeconds:0.00} s: gap across it {rebindGap?.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) ?? "(no reply on one side)"} ms; 50 ms ping: {gap}"));
        TunnelScenarios.Log($"iperf3 TCP {TransferSeconds} s across the rebinding: {result}");

        string context = $"\n{tunnel.Describe()}";
        Assert.True(mapping is not null, $"the router never mapped the client's flow into {range}{context}");
        Assert.True(after is not null && range.Contains(after.Port) && after.Port != before.Port,
            $"the server's view of the client stayed {after?.ToString() ?? "(none)"} (was {before}, expected a port in {range}){context}");
        Assert.Equal(nat.RouterPublicV4, after?.Host);
        Assert.True(result.Completed && result.BytesReceived > 0,
            $"the TCP transfer did not survive the rebinding: {result}\n{result.Json}\n{result.ClientStandardError}\n{result.ServerOutput}{context}");
        Assert.True(gap.Ping.LossFraction < 0.10, $"ping across the rebinding: {gap}\n{gap.Ping.Output}{context}");

        if (sessionLayer)
        {
            AssertSessionSurvived((JvpnPeer)tunnel.Server, sessionBefore!, after!, context);
        }
        else if (server == PeerKind.Jvpn)
        {
            // A plain WireGuard client never sends HELLO: the jvpn server keeps WireGuard's implicit
            // roaming for it (the endpoint moved above) and has no session for it (docs/design.md §2.2).
            Assert.Null(SessionStatus.Read((JvpnPeer)tunnel.Server));
        }
        else
        {
            // A plain WireGuard server never answers HELLO: the client says the session layer is off.
            SessionView? clientView = SessionStatus.Read((JvpnPeer)tunnel.Client);
            Assert.True(clientView is { Layer: "off" }, $"client session view: {clientView}{context}");
        }
    }

    /// <summary>
    /// The core promise while idle: the client stops sending, its NAT remaps it (conntrack flushed, new
    /// port range), and then the SERVER speaks first (pings the client's tunnel address). The server's
    /// packets go to the dead mapping until the client's next idle keepalive arrives from the new one;
    /// that keepalive earns a REBIND_HINT, the client's REATTACH moves the binding (same session, one
    /// versioned NAT_REBIND switch), and the server's pings get through. Recovery is bounded by the
    /// keepalive gap at that moment (docs/paths.md "Idle") plus the round trips: ~1 s after the last
    /// traffic the heartbeat still runs at 500 ms; after 25 s it has backed off to 12 s.
    /// </summary>
    [Theory]
    [InlineData(1_000, 1_000)]
    [InlineData(25_000, 13_000)]
    public void Idle_rebinding_then_the_server_speaks_first(int idleMs, int recoveryBudgetMs)
    {
        Requirements.Ensure("jvpn", "wg", "ping", "nft", "conntrack");
        using NatTopology nat = NatTopology.Create();
        using NatTunnel tunnel = nat.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        var server = (JvpnPeer)tunnel.Server;
        SessionView before = SessionStatus.WaitForAttached(server, TimeSpan.FromSeconds(5));
        IPEndPointText bound = tunnel.ServerViewOfClient()!;

        TimeSpan recovery = IdleRebindRecovery(nat, tunnel, idleMs, recoveryBudgetMs + 5_000, out IPEndPointText? after, out NatPortRange range);
        string context = $"\n{tunnel.Describe()}";
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"idle rebinding {idleMs} ms after the last traffic (jvpn client): server->client pings flow again {Describe(recovery)} after the rebinding; server saw {bound}, then {after}"));
        Assert.True(after is not null && range.Contains(after.Port), $"the server's view of the client stayed {after} (expected a port in {range}){context}");
        Assert.True(recovery.TotalMilliseconds <= recoveryBudgetMs,
            $"server->client traffic recovered {Describe(recovery)} after an idle rebinding (budget {recoveryBudgetMs} ms){context}");
        TunnelScenarios.Log("client events:\n" + ((JvpnPeer)tunnel.Client).Run("events", tunnel.Client.InterfaceName).StandardOutput);
        AssertSessionSurvived(server, before, after!, context);
        CommandResult events = server.Run("events", server.InterfaceName);
        int switches = events.StandardOutput.Split('\n').Count(l => l.Contains("\"TRANSPORT_SWITCH\"", StringComparison.Ordinal));
        Assert.True(switches == 1, $"{switches} TRANSPORT_SWITCH events for one rebinding\n{events.StandardOutput}");
    }

    /// <summary>
    /// The same for a plain WireGuard client (wireguard-go with PersistentKeepalive = 3) of a jvpn server:
    /// the server keeps WireGuard's implicit roaming for it, so its next persistent keepalive from the new
    /// mapping moves the endpoint and the server's pings flow again within one keepalive interval.
    /// </summary>
    [Fact]
    public void Idle_rebinding_of_a_wireguard_go_client_is_followed_on_its_next_keepalive()
    {
        const int keepaliveSeconds = 3;
        Requirements.Ensure("jvpn", "wireguard-go", "wg", "ping", "nft", "conntrack");
        using NatTopology nat = NatTopology.Create();
        using NatTunnel tunnel = nat.StartTunnel(PeerKind.Jvpn, PeerKind.WireGuardGo, clientPersistentKeepalive: keepaliveSeconds);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        IPEndPointText bound = tunnel.ServerViewOfClient()!;

        TimeSpan recovery = IdleRebindRecovery(nat, tunnel, 1_000, (keepaliveSeconds * 1000) + 5_000, out IPEndPointText? after, out NatPortRange range);
        string context = $"\n{tunnel.Describe()}";
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"idle rebinding 1 s after the last traffic (wireguard-go client, PersistentKeepalive {keepaliveSeconds}): recovered after {Describe(recovery)}; server saw {bound}, then {after}"));
        Assert.True(after is not null && range.Contains(after.Port), $"the server's view of the client stayed {after} (expected a port in {range}){context}");
        Assert.True(recovery.TotalMilliseconds <= (keepaliveSeconds * 1000) + 500,
            $"server->client traffic recovered {Describe(recovery)} after an idle rebinding (keepalive {keepaliveSeconds} s){context}");
        Assert.Null(SessionStatus.Read((JvpnPeer)tunnel.Server));
    }

    private static string Describe(TimeSpan recovery) => recovery == TimeSpan.MaxValue
        ? "never (no reply in the window)"
        : string.Create(CultureInfo.InvariantCulture, $"{recovery.TotalMilliseconds:0} ms");

    /// <summary>
    /// Ten pings from the client (the last traffic), <paramref name="idleMs"/> of silence, the rebinding,
    /// then 50 ms pings from the server to the client's tunnel address: the time from the rebinding to
    /// the first reply. <see cref="TimeSpan.MaxValue"/> when no reply came within the window.
    /// </summary>
    private static TimeSpan IdleRebindRecovery(NatTopology nat, NatTunnel tunnel, int idleMs, int windowMs, out IPEndPointText? after, out NatPortRange range)
    {
        PingResult traffic = Ping.Measure(nat.Client, TwoHostTopology.ServerTunnelV4, count: 10, intervalMs: 50);
        Assert.True(traffic.Received > 0, $"no traffic before the idle period: {traffic}\n{tunnel.Describe()}");
        Thread.Sleep(idleMs);
        DateTimeOffset rebindAt = DateTimeOffset.UtcNow;
        range = nat.ForceNatRebinding();
        GapReport pings = GapMeter.Start(nat.Server, TwoHostTopology.ClientTunnelV4, TimeSpan.FromMilliseconds(windowMs)).Wait();
        after = tunnel.ServerViewOfClient();
        double at = rebindAt.ToUnixTimeMilliseconds() / 1000.0;
        foreach (double t in pings.ReplyTimes)
        {
            if (t >= at)
            {
                return TimeSpan.FromSeconds(t - at);
            }
        }
        return TimeSpan.MaxValue;
    }

    /// <summary>
    /// Same session id, binding moved to the new mapping through REBIND_HINT + REATTACH (NAT_REBIND),
    /// and the audit stream's versions contiguous (one STATE_CHANGE per version, docs/session-spec.md §1.7).
    /// </summary>
    private static void AssertSessionSurvived(JvpnPeer server, SessionView before, IPEndPointText after, string context)
    {
        SessionView now = SessionStatus.Read(server)!;
        TunnelScenarios.Log($"session before {before}, after {now}");
        Assert.Equal(before.Id, now.Id);
        Assert.Equal("ATTACHED", now.State);
        Assert.True(now.Version > before.Version, $"version did not advance: {before} -> {now}{context}");
        Assert.Equal(after.ToString(), now.Bound);

        CommandResult events = server.Run("events", server.InterfaceName);
        Assert.True(events.ExitCode == 0, $"{events.CommandLine}: {events.StandardError}");
        var versions = new List<ulong>();
        bool natRebind = false;
        bool hinted = false;
        foreach (string line in events.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument e = JsonDocument.Parse(line);
            JsonElement root = e.RootElement;
            Assert.Equal(before.Id, root.GetProperty("session_id").GetString());
            string type = root.GetProperty("event_type").GetString()!;
            if (type is "SESSION_CREATED" or "STATE_CHANGE")
            {
                versions.Add(root.GetProperty("state_version").GetUInt64());
            }
            natRebind |= type == "TRANSPORT_SWITCH" && root.GetProperty("switch_reason").GetString() == "NAT_REBIND";
            hinted |= type == "REBIND_HINT_SENT";
        }
        Assert.True(hinted, $"no REBIND_HINT was sent\n{events.StandardOutput}");
        Assert.True(natRebind, $"no TRANSPORT_SWITCH with NAT_REBIND\n{events.StandardOutput}");
        for (int i = 0; i < versions.Count; i++)
        {
            Assert.True(versions[i] == (ulong)i, $"versions not contiguous: {string.Join(",", versions)}\n{events.StandardOutput}");
        }
    }

    /// <summary>The topology itself: the server has no route to the private subnet, so it only ever
    /// sees the router's public address; the router's filter drops and restores the path.</summary>
    [Fact]
    public void Nat_topology_hides_the_client_and_can_blackhole_the_path()
    {
        Requirements.Ensure("jvpn", "wg", "ping", "nft", "conntrack");
        using NatTopology nat = NatTopology.Create();
        Assert.NotEqual(0, nat.Server.TryExec("ping", ["-n", "-c", "1", "-W", "1", nat.ClientPrivateV4]).ExitCode);

        using NatTunnel tunnel = nat.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        Assert.Equal(nat.RouterPublicV4, tunnel.ServerViewOfClient()?.Host);
        NatMapping mapping = Assert.Single(nat.Mappings());
        Assert.Equal(TwoHostTopology.ServerListenPort, mapping.ServerPort);

        nat.Blackhole(true);
        PingResult dark = Ping.Measure(nat.Client, TwoHostTopology.ServerTunnelV4, count: 10, intervalMs: 50);
        Assert.Equal(0, dark.Received);
        nat.Blackhole(false);
        nat.SetLoss(50);
        PingResult lossy = Ping.Measure(nat.Client, TwoHostTopology.ServerTunnelV4, count: 100, intervalMs: 20);
        nat.SetLoss(0);
        PingResult clean = Ping.Measure(nat.Client, TwoHostTopology.ServerTunnelV4, count: 20, intervalMs: 50);
        TunnelScenarios.Log($"blackhole: {dark}; 50% loss each way: {lossy}; clean: {clean}");
        // 50% per direction is ~75% round-trip loss; wide bounds keep this deterministic enough.
        Assert.InRange(lossy.LossFraction, 0.5, 0.97);
        Assert.True(clean.Received >= 19, $"clean: {clean}\n{tunnel.Describe()}");
    }
}
