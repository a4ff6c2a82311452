using System.Net;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tests.Tunnel.Device;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping;

/// <summary>
/// The session layer on two in-memory WireGuard cores with a manual clock (no sockets): A is the client
/// (its peer B has an endpoint), B the server. Every datagram is delivered by hand, so each step of the
/// binding rule (docs/design.md §2.2) can be observed.
/// </summary>
public sealed class JumpingNodeTests
{
    private sealed class Pair
    {
        public TwoDevices T { get; } = new();
        public JumpingNode Client { get; }
        public JumpingNode Server { get; }
        public List<byte[]> DeliveredAtB { get; } = [];

        public Pair()
        {
            Client = new JumpingNode(T.A, SessionPolicy.Default, [T.PeerBOnA], new AuditTail("client"), NullLogger.Instance, T.Clock);
            Server = new JumpingNode(T.B, SessionPolicy.Default, [], new AuditTail("server"), NullLogger.Instance, T.Clock);
            Client.Attach();
            Server.Attach();
        }

        /// <summary>Delivers A's datagrams to B as if they came from <paramref name="fromA"/>, and B's to A; repeats until quiet.</summary>
        public void Pump(SocketAddress? fromA = null, int rounds = 10)
        {
            for (int i = 0; i < rounds; i++)
            {
                var a = T.WireA.Drain();
                var b = T.WireB.Drain();
                if (a.Count == 0 && b.Count == 0)
                {
                    return;
                }
                foreach ((byte[] d, _) in a)
                {
                    Deliver(T.B, d, fromA ?? T.AddrA, DeliveredAtB);
                }
                foreach ((byte[] d, _) in b)
                {
                    Deliver(T.A, d, T.AddrB, []);
                }
            }
        }

        /// <summary>Like TwoDevices.Deliver, plus control frames to the node (the loop's job in production).</summary>
        public static void Deliver(WireGuardDevice to, byte[] datagram, SocketAddress from, List<byte[]> delivered)
        {
            ReceiveResult r = to.Decapsulate(datagram, from, out int off, out int len, out Peer? peer);
            if (r == ReceiveResult.Handshake)
            {
                to.ProcessHandshakeMessage(datagram, from, rateLimitOk: true);
            }
            else if (r == ReceiveResult.Deliver)
            {
                delivered.Add(datagram.AsSpan(off, len).ToArray());
            }
            else if (r == ReceiveResult.Control)
            {
                to.Observer?.OnControlFrame(peer!, datagram.AsSpan(off, len), from, null);
            }
        }

        public string ServerSessions() => Server.FormatSessions();

        public string ServerEvents()
        {
            var sb = new System.Text.StringBuilder();
            Server.Audit.ReadSince(0, sb);
            return sb.ToString();
        }

        public void Connect()
        {
            TwoDevices.Encapsulate(T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
            Pump();
        }
    }

    private static string Field(string block, string key) =>
        block.Split('\n').First(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];

    /// <summary>
    /// An idle client on a manual clock (docs/paths.md "Idle"): after the back-off it sends one KEEPALIVE
    /// per idle_keepalive_interval, the server only answers, and neither side declares anything dead.
    /// </summary>
    [Fact]
    public void Idle_client_backs_off_to_one_keepalive_per_idle_interval_and_the_server_only_answers()
    {
        var p = new Pair();
        p.Connect();
        var fromClient = new List<long>();
        var fromServer = new List<long>();
        for (long t = 0; t < 90_000; t += 50)
        {
            p.T.Clock.Advance(TimeSpan.FromMilliseconds(50));
            p.Client.SweepOnce([]);
            p.Server.SweepOnce([]);
            for (int round = 0; round < 10; round++)
            {
                List<(byte[], SocketAddress)> a = p.T.WireA.Drain();
                List<(byte[], SocketAddress)> b = p.T.WireB.Drain();
                if (a.Count == 0 && b.Count == 0)
                {
                    break;
                }
                fromClient.AddRange(a.Select(_ => t));
                fromServer.AddRange(b.Select(_ => t));
                foreach ((byte[] d, _) in a)
                {
                    Pair.Deliver(p.T.B, d, p.T.AddrA, p.DeliveredAtB);
                }
                foreach ((byte[] d, _) in b)
                {
                    Pair.Deliver(p.T.A, d, p.T.AddrB, []);
                }
            }
        }
        // Steady state from ~18 s; 60 s at one per 12 s: 5, or 6 with one on the window's edge.
        int clientInWindow = fromClient.Count(t => t >= 30_000);
        int serverInWindow = fromServer.Count(t => t >= 30_000);
        Assert.InRange(clientInWindow, 4, 6);
        Assert.Equal(clientInWindow, serverInWindow);
        Assert.Equal("ATTACHED", Field(p.ServerSessions(), "state"));
        var clientEvents = new System.Text.StringBuilder();
        p.Client.Audit.ReadSince(0, clientEvents);
        Assert.DoesNotContain("TRANSPORT_DEAD", clientEvents.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The jvpn_session=1 payload of both ends after a connect, byte for byte as released jvpn writes it
    /// (older `jvpn status` binaries and scripts parse this text). The session id is random per run.
    /// </summary>
    [Fact]
    public void Session_status_wire_text_is_unchanged()
    {
        var p = new Pair();
        p.Connect();
        static string WithoutId(string text) =>
            System.Text.RegularExpressions.Regex.Replace(text, "^session_id=[0-9a-f]{32}$", "session_id=ID", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.Equal(GoldenServer, WithoutId(p.ServerSessions()));
        Assert.Equal(GoldenClient, WithoutId(p.Client.FormatSessions()));
    }

    private const string GoldenServer =
        "public_key=e5e793e863280fdef4caed043e828cb69d20d7ab11bc91d6bfd78e218179f572\nrole=server\nsession_id=ID\nstate=ATTACHED\n" +
        "state_version=1\nbound_at_version=1\nbound_endpoint=192.0.2.1:1001\nlast_reason=HANDSHAKE_OK\nlast_transition_age_ms=0\nswitches=0\n";

    private const string GoldenClient =
        "public_key=282f4369c63af63a9f2618de4d45cea1f27842982026afcdadd63d32becc2257\nrole=client\nsession_layer=on\nsession_id=ID\n" +
        "state=ATTACHED\nstate_version=1\nbound_at_version=1\nbound_endpoint=192.0.2.2:1002\nlast_reason=\nlast_transition_age_ms=0\nswitches=0\nrtt_ms=-1\n";

    [Fact]
    public void Hello_after_the_handshake_creates_an_attached_session_and_pins_the_binding()
    {
        var p = new Pair();
        p.Connect();
        string server = p.ServerSessions();
        Assert.Equal("ATTACHED", Field(server, "state"));
        Assert.Equal("1", Field(server, "state_version"));
        Assert.Equal("192.0.2.1:1001", Field(server, "bound_endpoint"));
        Assert.False(p.T.PeerAOnB.AllowRoaming);
        string client = p.Client.FormatSessions();
        Assert.Equal(Field(server, "session_id"), Field(client, "session_id"));
        Assert.Equal("on", Field(client, "session_layer"));
    }

    [Fact]
    public void Nat_rebinding_moves_the_binding_only_through_hint_and_reattach()
    {
        var p = new Pair();
        p.Connect();
        string id = Field(p.ServerSessions(), "session_id");
        var natted = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 40001), false);

        // Data from the new address is delivered, answered with REBIND_HINT, and does not move the binding.
        (_, byte[]? d) = TwoDevices.Encapsulate(p.T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 20));
        Pair.Deliver(p.T.B, d!, natted, p.DeliveredAtB);
        Assert.Single(p.DeliveredAtB, x => x.Length == 40);
        Assert.Equal("192.0.2.1:1001", Field(p.ServerSessions(), "bound_endpoint"));
        Assert.Contains("REBIND_HINT_SENT", p.ServerEvents(), StringComparison.Ordinal);

        // The client answers the hint with REATTACH from its (new) address; the binding moves, v2.
        p.Pump(fromA: natted);
        string server = p.ServerSessions();
        Assert.Equal(id, Field(server, "session_id"));
        Assert.Equal("2", Field(server, "state_version"));
        Assert.Equal("203.0.113.5:40001", Field(server, "bound_endpoint"));
        Assert.Equal("203.0.113.5:40001", EndpointCodec.ToIPEndPoint(p.T.PeerAOnB.Endpoint!).ToString());
        Assert.Contains("\"switch_reason\":\"NAT_REBIND\"", p.ServerEvents(), StringComparison.Ordinal);
        Assert.Equal("2", Field(p.Client.FormatSessions(), "state_version"));
    }

    [Fact]
    public void A_replayed_reattach_from_another_address_changes_nothing_and_is_reported()
    {
        var p = new Pair();
        p.Connect();
        var natted = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 40001), false);
        (_, byte[]? d) = TwoDevices.Encapsulate(p.T.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 20));
        Pair.Deliver(p.T.B, d!, natted, p.DeliveredAtB);
        // Capture the client's REATTACH (the only datagram A sends after the hint), deliver it, then replay it.
        Pair.Deliver(p.T.A, p.T.WireB.Drain().Single().Datagram, p.T.AddrB, []);
        byte[] reattach = p.T.WireA.Drain().Single().Datagram;
        Pair.Deliver(p.T.B, (byte[])reattach.Clone(), natted, []);
        string before = p.ServerSessions();
        Assert.Equal("2", Field(before, "state_version"));

        var attacker = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("198.51.100.66"), 5555), false);
        Pair.Deliver(p.T.B, (byte[])reattach.Clone(), attacker, []);
        p.Server.SweepOnce([]);

        Assert.Equal(before, p.ServerSessions());
        Assert.Equal(1, p.T.B.Counters.Replay);
        Assert.Contains("\"violation_type\":\"REPLAY_DETECTED\"", p.ServerEvents(), StringComparison.Ordinal);
    }

    [Fact]
    public void Client_terminate_ends_the_session_and_the_tombstone_is_evicted_after_its_ttl()
    {
        var p = new Pair();
        p.Connect();
        p.Client.Dispose(); // sends TERMINATE
        p.Pump();
        Assert.Equal("TERMINATED", Field(p.ServerSessions(), "state"));
        Assert.Contains("\"reason_code\":\"CLIENT_TERMINATED\"", p.ServerEvents(), StringComparison.Ordinal);

        p.T.Clock.Advance(TimeSpan.FromMilliseconds(SessionPolicy.Default.TombstoneTtlMs - 1000));
        p.Server.SweepOnce([]);
        Assert.Contains("TERMINATED", p.ServerSessions(), StringComparison.Ordinal);
        p.T.Clock.Advance(TimeSpan.FromSeconds(2));
        p.Server.SweepOnce([]);
        Assert.Equal(string.Empty, p.ServerSessions());
        Assert.True(p.T.PeerAOnB.AllowRoaming); // plain WireGuard again until the next HELLO
    }

    [Fact]
    public void Silence_for_transport_dead_on_the_server_moves_the_session_to_recovering()
    {
        var p = new Pair();
        p.Connect();
        // The client announced its idle keepalive interval in HELLO: an idle binding may stay silent
        // that long plus transport_dead (docs/paths.md "Idle").
        p.T.Clock.Advance(TimeSpan.FromMilliseconds(SessionPolicy.Default.TransportDeadMs + 100));
        p.Server.SweepOnce([]);
        Assert.Equal("ATTACHED", Field(p.ServerSessions(), "state"));
        p.T.Clock.Advance(TimeSpan.FromMilliseconds(SessionPolicy.Default.IdleKeepaliveIntervalMs));
        p.Server.SweepOnce([]);
        string server = p.ServerSessions();
        Assert.Equal("RECOVERING", Field(server, "state"));
        Assert.Equal("2", Field(server, "state_version"));
        Assert.Equal(string.Empty, Field(server, "bound_endpoint"));
    }

    [Fact]
    public void Beyond_max_sessions_a_new_client_is_refused_cleanly_and_stays_plain_wireguard()
    {
        var p = new Pair(); // server B with policy limit 1 is built below instead of the default node
        p.Server.Dispose();
        var limited = new JumpingNode(p.T.B, SessionPolicy.Default with { MaxSessionsPerNode = 1 }, [], new AuditTail("server"), NullLogger.Instance, p.T.Clock);
        limited.Attach();
        p.Connect();
        Assert.Contains("state=ATTACHED", limited.FormatSessions(), StringComparison.Ordinal);

        // A second client C of server B.
        var random = new DeterministicRandom(7);
        byte[] keyC = new byte[32];
        JumpingVpn.Tunnel.Crypto.X25519.GeneratePrivateKey(keyC, random.Fill);
        var wireC = new WireSender();
        var c = new WireGuardDevice(new DeviceOptions { Time = p.T.Clock, Random = random.Fill }, wireC);
        c.SetPrivateKey(keyC);
        Peer bOnC = c.AddPeer(p.T.B.Identity!.PublicKey, new byte[32]);
        c.AddAllowedIp(bOnC, JumpingVpn.Platform.Net.IpPrefix.Parse("10.0.0.2/32"));
        bOnC.Endpoint = p.T.AddrB;
        Peer cOnB = p.T.B.AddPeer(c.Identity!.PublicKey, new byte[32]);
        p.T.B.AddAllowedIp(cOnB, JumpingVpn.Platform.Net.IpPrefix.Parse("10.0.0.3/32"));
        var clientC = new JumpingNode(c, SessionPolicy.Default, [bOnC], new AuditTail("c"), NullLogger.Instance, p.T.Clock);
        clientC.Attach();
        var addrC = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.3"), 1003), false);

        TwoDevices.Encapsulate(c, TwoDevices.Ipv4Packet("10.0.0.3", "10.0.0.2", 1));
        for (int round = 0; round < 6; round++)
        {
            foreach ((byte[] d, _) in wireC.Drain())
            {
                Pair.Deliver(p.T.B, d, addrC, []);
            }
            foreach ((byte[] d, SocketAddress to) in p.T.WireB.Drain())
            {
                if (to.Equals(addrC))
                {
                    Pair.Deliver(c, d, p.T.AddrB, []);
                }
            }
        }

        string sessions = limited.FormatSessions();
        Assert.Single(sessions.Split('\n'), l => l.StartsWith("session_id=", StringComparison.Ordinal)); // still one session
        string cView = clientC.FormatSessions();
        Assert.Contains("session_layer=off", cView, StringComparison.Ordinal);
        Assert.Contains("SESSION_LIMIT_REACHED", cView, StringComparison.Ordinal);
        Assert.True(cOnB.AllowRoaming); // plain WireGuard for the refused client
    }

    [Fact]
    public void A_burst_of_hello_and_reattach_frames_is_bounded_by_the_session_tier0_budget()
    {
        var p = new Pair();
        p.Connect();
        Assert.True(SessionId.TryParse(Field(p.ServerSessions(), "session_id"), out SessionId id));
        int linesBefore = p.ServerEvents().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Span<byte> frame = stackalloc byte[128];
        const int Frames = 10_000;

        for (int i = 0; i < Frames; i++)
        {
            // Fresh-session HELLOs and REATTACHs from ever new addresses: each admitted one writes lines.
            var from = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 20000 + i), false);
            int n = i % 2 == 0
                ? new HelloFrame(1, ControlCapabilities.None, (ulong)(1000 + i), SessionId.None, 0, 0).Write(frame)
                : new ReattachRequestFrame(id, (ulong)(1000 + i), 1, ReasonCode.NatRebind, 0, 0).Write(frame);
            p.Server.OnControlFrame(p.T.PeerAOnB, frame[..n], from, null);
        }
        p.T.WireB.Drain();

        string[] lines = p.ServerEvents().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int added = lines.Length - linesBefore;
        // At most Burst frames got through (a few lines each), plus the one episode-start line.
        Assert.InRange(added, 1, (ControlFloodGuard.Burst * 8) + 1);
        Assert.Single(lines, l => l.Contains("\"event_type\":\"CONTROL_FLOOD_SUPPRESSED\"", StringComparison.Ordinal));
        Assert.Equal(Frames - ControlFloodGuard.Burst, p.Server.ControlFloodSuppressed);

        // Quiet for the episode's quiet time: the sweep writes the end line with the count, once.
        p.T.Clock.Advance(TimeSpan.FromMilliseconds(ControlFloodGuard.QuietMs + 1100));
        p.Server.SweepOnce([]);
        p.Server.SweepOnce([]);
        string[] after = p.ServerEvents().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string end = Assert.Single(after, l => l.Contains("\"phase\":\"end\"", StringComparison.Ordinal));
        Assert.Contains($"\"suppressed\":{Frames - ControlFloodGuard.Burst}", end, StringComparison.Ordinal);
    }

    [Fact]
    public void Frames_over_the_tier0_budget_allocate_nothing_and_other_sessions_are_unaffected()
    {
        var p = new Pair();
        p.Connect();
        Assert.True(SessionId.TryParse(Field(p.ServerSessions(), "session_id"), out SessionId id));
        byte[] frame = new byte[ReattachRequestFrame.Size];
        var from = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 40001), false);
        ulong seq = 5000;
        void Flood()
        {
            int n = new ReattachRequestFrame(id, seq++, 1, ReasonCode.NatRebind, 0, 0).Write(frame);
            p.Server.OnControlFrame(p.T.PeerAOnB, frame.AsSpan(0, n), from, null);
        }
        for (int i = 0; i < ControlFloodGuard.Burst + 1; i++)
        {
            Flood(); // spend the budget and open the episode
        }
        p.T.WireB.Drain();
        SteadyState.AllocatesNothing(Flood, rounds: 5000, warmup: 100);
        Assert.True(p.Server.ControlFloodSuppressed >= 5000);

        // The guard is per session: a fresh guard admits at once.
        var other = new ControlFloodGuard();
        Assert.Equal(FloodVerdict.Admitted, other.Admit(0));
    }

    [Fact]
    public void Hellos_refused_at_the_session_limit_are_logged_at_most_once_a_second()
    {
        var p = new Pair();
        p.Server.Dispose();
        var logger = new JumpingVpn.Tests.Control.Uapi.ListLogger();
        var limited = new JumpingNode(p.T.B, SessionPolicy.Default with { MaxSessionsPerNode = 1 }, [], new AuditTail("server"), logger, p.T.Clock);
        limited.Attach();
        p.Connect(); // A holds the only session
        Peer other = p.T.B.AddPeer(Enumerable.Repeat((byte)9, 32).ToArray(), new byte[32]);
        var from = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.3"), 1003), false);
        Span<byte> frame = stackalloc byte[HelloFrame.Size];
        int n = new HelloFrame(1, ControlCapabilities.None, 1, SessionId.None, 0, 0).Write(frame);

        for (int i = 0; i < 1000; i++)
        {
            limited.OnControlFrame(other, frame[..n], from, null);
        }
        p.T.Clock.Advance(TimeSpan.FromMilliseconds(1001));
        limited.OnControlFrame(other, frame[..n], from, null);

        string[] warnings = [.. logger.Messages.Where(m => m.StartsWith("session limit", StringComparison.Ordinal))];
        Assert.Equal(2, warnings.Length);
        Assert.Contains("(1001 refused since start)", warnings[1], StringComparison.Ordinal);
        Assert.Contains("state=ATTACHED", limited.FormatSessions(), StringComparison.Ordinal);
    }
}
