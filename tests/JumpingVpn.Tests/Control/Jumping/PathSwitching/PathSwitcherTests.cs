using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Client;
using JumpingVpn.Control.Jumping.PathSwitching;
using JumpingVpn.Control.Paths;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping.PathSwitching;

/// <summary>
/// The glue between the path manager's decisions and the data plane (docs/design.md §4, docs/paths.md) on a
/// manual clock, with a scripted OS view of two interfaces. The path sockets are real UDP sockets, and the
/// peer's endpoint is a loopback discard address, so probes and REATTACH_REQUESTs leave only on loopback
/// and nothing answers them: the tests play the server's answers by hand.
/// </summary>
public sealed class PathSwitcherTests : IDisposable
{
    private static readonly SessionId Id = Parse("00112233445566778899aabbccddeeff");

    private readonly RoleRig _rig = new();
    private readonly ScriptedPaths _os = new();
    private readonly ClientPaths _paths;
    private readonly PathSwitcher _switcher;
    private readonly ClientSession _session;

    public PathSwitcherTests()
    {
        _rig.Handshake();
        bool dualMode;
        using (UdpTransport sample = UdpTransport.Bind(0))
        {
            dualMode = sample.DualMode; // the path sockets are bound the same way
        }
        _rig.T.PeerBOnA.Endpoint = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Loopback, 9), dualMode);
        _os.Usable = [new UsableInterface("wlan0", IPAddress.Parse("192.0.2.10"), 600, 0), new UsableInterface("wwan0", IPAddress.Parse("198.18.0.10"), 700, 0)];
        _paths = new ClientPaths(_os, IPAddress.Loopback, "jv0", [], NullLogger.Instance);
        _paths.StartMonitor(() => { });
        _switcher = new PathSwitcher(_rig.ClientContext) { Sockets = _paths };
        _session = new ClientSession(_rig.T.PeerBOnA) { Paths = new PathManager(_rig.Policy) };
    }

    public void Dispose()
    {
        _paths.Dispose();
        _os.Dispose();
    }

    private static SessionId Parse(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id));
        return id;
    }

    private PathManager Manager => _session.Paths!;

    private PathSocket Socket(string name) => _paths.Socket(name) ?? throw new InvalidOperationException(name + " has no socket");

    private long Now => _rig.ClientContext.NowMs();

    /// <summary>The HELLO_ACK's effect on the mirror: from now on a move needs the server's REATTACH_ACK.</summary>
    private void Bind()
    {
        _session.Id = Id;
        _session.LastAckedVersion = 1;
        _session.BoundAtVersion = 1;
        _session.State = SessionState.Attached;
        _session.SessionLayerOn = true;
    }

    private void Answers(string name) => Socket(name).MarkAuthenticatedRx(_rig.T.A.NowNs());

    private bool AckArrives(IDatagramSender? via, ulong version)
    {
        Span<byte> frame = stackalloc byte[128];
        int n = new ReattachAckFrame(Id, 0, version, version, ReasonCode.ReattachSuccess).Write(frame);
        return _switcher.OnFrame(_session, ControlFrameType.ReattachAck, frame[..n], via, Now);
    }

    [Fact]
    public void Before_a_session_the_preferred_path_is_used_at_once()
    {
        _switcher.InitialChoice([_session]);

        Assert.Same(Socket("wlan0"), _rig.T.PeerBOnA.Via);
        Assert.Equal("wlan0", Manager.Active!.Info.Interface);
        Assert.Contains(RoleRig.LinesOf(_rig.ClientContext.Audit, "PATH_DECISION"), l => l.Contains("\"interface\":\"wwan0\"", StringComparison.Ordinal));
    }

    [Fact]
    public void A_vanished_active_path_moves_peer_via_only_when_the_reattach_ack_arrives_on_the_new_path()
    {
        _switcher.InitialChoice([_session]);
        PathSocket wifi = Socket("wlan0");
        PathSocket cellular = Socket("wwan0");
        Bind();
        _rig.Advance(50);
        Answers("wwan0");

        _os.Usable = [_os.Usable[1]];
        _os.RaiseChanged();
        _switcher.Sweep(_session, Now);

        string attempt = Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "REATTACH_ATTEMPT"));
        Assert.Contains("\"interface\":\"wwan0\"", attempt, StringComparison.Ordinal);
        Assert.Contains("\"switch_reason\":\"TRANSPORT_DEAD_RECOVERY\"", attempt, StringComparison.Ordinal);
        Assert.Equal("wwan0", Manager.Find(Manager.PendingId)!.Info.Interface);
        Assert.Same(wifi, _rig.T.PeerBOnA.Via); // decided, not yet acknowledged

        _rig.Advance(30);
        Assert.False(AckArrives(via: null, version: 2)); // on the primary socket: not this switch's answer
        Assert.Same(wifi, _rig.T.PeerBOnA.Via);

        Assert.True(AckArrives(cellular, version: 2));
        Assert.Same(cellular, _rig.T.PeerBOnA.Via);
        Assert.Equal("wwan0", Manager.Active!.Info.Interface);
        Assert.Equal(1, _session.Switches);
        Assert.Equal(2UL, _session.LastAckedVersion);
        string result = Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "REATTACH_RESULT"));
        Assert.Contains("\"from_interface\":\"wlan0\"", result, StringComparison.Ordinal);
        Assert.Contains("\"switch_latency_ms\":30", result, StringComparison.Ordinal);
    }

    [Fact]
    public void An_active_path_that_stops_answering_while_data_waits_fails_over_to_the_answering_one()
    {
        _switcher.InitialChoice([_session]);
        PathSocket wifi = Socket("wlan0");
        Bind();
        long startedMs = Now;
        for (int step = 0; step < 200 && Manager.PendingId < 0; step++)
        {
            _rig.Advance(50);
            _rig.T.PeerBOnA.MarkDataTx(_rig.T.A.NowNs()); // the user keeps sending; only wwan0 hears back
            Answers("wwan0");
            _switcher.Sweep(_session, Now);
        }

        Assert.True(Manager.PendingId >= 0, "no switch decided");
        Assert.Equal("wwan0", Manager.Find(Manager.PendingId)!.Info.Interface);
        Assert.InRange(Now - startedMs, _rig.Policy.PathDeadMs, _rig.Policy.TransportDeadMs);
        Assert.Contains(RoleRig.LinesOf(_rig.ClientContext.Audit, "PATH_DECISION"),
            l => l.Contains("\"decision\":\"path_dead\"", StringComparison.Ordinal) && l.Contains("\"interface\":\"wlan0\"", StringComparison.Ordinal));
        Assert.Contains("TRANSPORT_DEAD_RECOVERY", Assert.Single(RoleRig.LinesOf(_rig.ClientContext.Audit, "REATTACH_ATTEMPT")), StringComparison.Ordinal);
        Assert.Same(wifi, _rig.T.PeerBOnA.Via);

        Assert.True(AckArrives(Socket("wwan0"), version: 2));
        Assert.Same(Socket("wwan0"), _rig.T.PeerBOnA.Via);
    }

    [Fact]
    public void A_rebind_hint_on_a_candidate_path_is_not_a_nat_change()
    {
        _switcher.InitialChoice([_session]);

        Assert.True(PathSwitcher.IsCandidatePath(_session, Socket("wwan0")));
        Assert.False(PathSwitcher.IsCandidatePath(_session, Socket("wlan0")));
        Assert.False(PathSwitcher.IsCandidatePath(_session, null));
    }

    /// <summary>The OS side of the paths, scripted: which interfaces are usable, and real sockets for them.</summary>
    private sealed class ScriptedPaths : IPathPlatform, IDisposable
    {
        private readonly List<UdpTransport> _opened = [];
        private Action? _changed;

        public List<UsableInterface> Usable { get; set; } = [];

        public IDisposable Watch(Action changed)
        {
            _changed = changed;
            return new Stop();
        }

        public void RaiseChanged() => _changed?.Invoke();

        public List<UsableInterface> Scan(IPAddress server, string tunnelName) => [.. Usable];

        public UdpTransport Bind(UsableInterface path)
        {
            UdpTransport udp = UdpTransport.Bind(0);
            _opened.Add(udp);
            return udp;
        }

        public void Dispose()
        {
            foreach (UdpTransport u in _opened)
            {
                u.Dispose();
            }
        }

        private sealed class Stop : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
