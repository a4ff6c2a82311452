using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.LoadGen.Bench.Failover;

/// <summary>
/// The I/O half of `jvpn-loadgen failover`: N <see cref="SimClient"/>s (real Noise handshakes and
/// transport keys) driven by their <see cref="FailoverClient"/> decisions, over a pool of UDP sockets bound to
/// the client namespace's source addresses (one, or many: a node limits handshakes per source address under
/// load, which real clients, each with its own address, do not share). A cookie reply is answered at once
/// (<see cref="CookieResend"/>). One receive thread per socket demultiplexes replies by receiver index
/// (client id + 1) and tells the node by the reply's source address; one timer thread polls every client
/// every <see cref="TickMs"/> and attaches new clients with at most <see cref="Window"/> in flight;
/// handshake initiations (DH work) are built on the thread pool. The simulated clients share this
/// machine's cores, which real clients do not: `silent_detected_p50_ms` and the CPU figures of the report
/// show how much of a gap is the generator's own work.
/// </summary>
internal sealed class FailoverDriver : IDisposable
{
    public const int TickMs = 10;
    public const int Window = 128;

    private readonly SimClient[] _sims;
    private readonly FailoverClient[] _clients;
    private readonly Socket[] _sockets;
    private readonly SocketAddress[] _nodes;
    private readonly IPEndPoint[] _nodeEndpoints;
    private long _moves;
    private readonly Thread[] _receivers;
    private readonly Thread _timer;
    private readonly long _heartbeatMs;
    private volatile bool _stop;
    private int _started;
    private int _attached;
    private long _handshakeResponses;
    private long _cookieReplies;
    private readonly CookieResend _cookieResend;
    private readonly int[] _cookieNode;

    /// <param name="sources">Local addresses; socket i binds to sources[i % count] (at least one socket per address).</param>
    public FailoverDriver(SimClient[] sims, FailoverClient[] clients, IReadOnlyList<IPEndPoint> nodes, IReadOnlyList<IPAddress> sources, int socketCount, long heartbeatMs)
    {
        _sims = sims;
        _clients = clients;
        _heartbeatMs = heartbeatMs;
        _cookieResend = new CookieResend(sims.Length);
        _cookieNode = new int[sims.Length];
        _nodes = [.. nodes.Select(n => n.Serialize())];
        _nodeEndpoints = [.. nodes];
        socketCount = Math.Max(socketCount, sources.Count);
        _sockets = new Socket[socketCount];
        _receivers = new Thread[socketCount];
        for (int i = 0; i < socketCount; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = sources.Count > 64 ? 256 << 10 : 4 << 20, SendBufferSize = 1 << 20 };
            s.Bind(new IPEndPoint(sources[i % sources.Count], 0));
            _sockets[i] = s;
            int index = i;
            _receivers[i] = new Thread(() => Receive(index)) { IsBackground = true, Name = $"failover-rx-{i}" };
        }
        _timer = new Thread(Tick) { IsBackground = true, Name = "failover-timer" };
    }

    /// <summary>Sessions with a HELLO_ACK (attached at least once).</summary>
    public int Attached => Volatile.Read(ref _attached);

    /// <summary>Handshake responses that installed keys, all nodes, since the start.</summary>
    public long HandshakeResponses => Interlocked.Read(ref _handshakeResponses);

    /// <summary>Cookie replies received (a node under load asking for mac2).</summary>
    public long CookieReplies => Interlocked.Read(ref _cookieReplies);

    /// <summary>Cookie replies answered at once with an initiation carrying mac2.</summary>
    public long CookieResends => _cookieResend.Resent;

    /// <summary>SESSION_MOVEs that moved a client (a drained node's).</summary>
    public long Moves => Interlocked.Read(ref _moves);

    /// <summary>Sockets (and source ports) the clients are spread over.</summary>
    public int SocketCount => _sockets.Length;

    /// <summary>Stopwatch ticks of every handshake response (read after the run: the takeover's handshake rate).</summary>
    public List<long> HandshakeTimes { get; } = [];

    public static long NowMs() => Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency;

    private static ulong WallMs() => (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    public void Start()
    {
        foreach (Thread t in _receivers)
        {
            t.Start();
        }
        _timer.Start();
    }

    private void Tick()
    {
        while (!_stop)
        {
            long now = NowMs();
            int inFlight = _started - Attached;
            while (_started < _clients.Length && inFlight < Window)
            {
                FailoverClient c = _clients[_started];
                FailoverAction a;
                lock (c)
                {
                    a = c.Start(now);
                }
                Act(_started++, a);
                inFlight++;
            }
            for (int i = 0; i < _started; i++)
            {
                FailoverClient c = _clients[i];
                FailoverAction a;
                lock (c)
                {
                    a = c.Poll(now);
                }
                if (a == FailoverAction.Handshake)
                {
                    // An initiation costs the client its DH work: off this thread, so one tick's failovers
                    // (all N at once after the kill) do not hold back every other client's timers.
                    int index = i;
                    ThreadPool.UnsafeQueueUserWorkItem(_ => Act(index, FailoverAction.Handshake), null);
                }
                else if (a != FailoverAction.None)
                {
                    Act(i, a);
                }
            }
            Thread.Sleep(TickMs);
        }
    }

    private void Act(int i, FailoverAction a, bool cookieResend = false)
    {
        SimClient sim = _sims[i];
        FailoverClient c = _clients[i];
        Span<byte> frame = stackalloc byte[128];
        Span<byte> datagram = stackalloc byte[256];
        int n = 0;
        int node;
        lock (c)
        {
            node = c.Node;
            switch (a)
            {
                case FailoverAction.Handshake:
                    if (cookieResend && (c.State != FailoverClientState.Handshaking || c.Node != _cookieNode[i]))
                    {
                        return; // the handshake moved on (answered, or another node) before the resend was built
                    }
                    if (!cookieResend)
                    {
                        _cookieResend.OnInitiation(i);
                    }
                    sim.WriteInitiation(datagram[..MessageLayout.InitiationSize], NowNs(), (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
                    n = MessageLayout.InitiationSize;
                    break;
                case FailoverAction.Hello:
                    {
                        int len = new HelloFrame(ControlFrame.ProtocolVersion, ControlCapabilities.None, sim.NextCtrlSeq++, c.SessionId, c.AckedVersion, WallMs()).Write(frame);
                        n = sim.Seal(frame[..len], datagram);
                        break;
                    }
                case FailoverAction.Keepalive:
                    {
                        int len = new KeepaliveFrame(sim.NextCtrlSeq++, WallMs(), 0, c.AckedVersion).Write(frame);
                        n = sim.Seal(frame[..len], datagram);
                        break;
                    }
                case FailoverAction.Reattach:
                    {
                        int len = new ReattachRequestFrame(c.SessionId, sim.NextCtrlSeq++, c.AckedVersion, ReasonCode.TransportDeadRecovery, 0, WallMs()).Write(frame);
                        n = sim.Seal(frame[..len], datagram);
                        break;
                    }
                default:
                    break;
            }
        }
        if (n > 0)
        {
            try
            {
                _sockets[i % _sockets.Length].SendTo(datagram[..n], SocketFlags.None, _nodes[node]);
            }
            catch (SocketException)
            {
                // A full send queue or an unreachable node is a lost packet: the client's retries cover it.
            }
            catch (ObjectDisposedException)
            {
                // Stopping: a receive thread answered a handshake while the sockets were closed.
            }
        }
    }

    private void Receive(int socketIndex) =>
        DatagramReceiveLoop.Run(_sockets[socketIndex], () => _stop, (datagram, from) =>
        {
            int node = NodeOf(from);
            if (node >= 0)
            {
                OnDatagram(datagram, node);
            }
        });

    private int NodeOf(SocketAddress from)
    {
        for (int i = 0; i < _nodes.Length; i++)
        {
            if (_nodes[i].Equals(from))
            {
                return i;
            }
        }
        return -1;
    }

    private int IndexOf(uint receiver) => receiver >= 1 && receiver <= (uint)_sims.Length ? (int)receiver - 1 : -1;

    private void OnDatagram(Span<byte> d, int node)
    {
        long now = NowMs();
        switch (d[0])
        {
            case MessageLayout.TypeResponse when d.Length == MessageLayout.ResponseSize:
                {
                    int i = IndexOf(BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.RespReceiver..]));
                    if (i < 0)
                    {
                        return;
                    }
                    bool hello;
                    lock (_clients[i])
                    {
                        hello = _clients[i].State == FailoverClientState.Handshaking && node == _clients[i].Node
                            && _sims[i].ConsumeResponse(d, now) && _clients[i].OnHandshakeResponse(now);
                    }
                    if (hello)
                    {
                        Interlocked.Increment(ref _handshakeResponses);
                        lock (HandshakeTimes)
                        {
                            HandshakeTimes.Add(now);
                        }
                        Act(i, FailoverAction.Hello);
                    }
                    return;
                }
            case MessageLayout.TypeCookieReply when d.Length == MessageLayout.CookieReplySize:
                {
                    int i = IndexOf(BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.CookieReceiver..]));
                    if (i < 0)
                    {
                        return;
                    }
                    Interlocked.Increment(ref _cookieReplies);
                    bool resend;
                    lock (_clients[i])
                    {
                        FailoverClient c = _clients[i];
                        resend = _sims[i].ConsumeCookieReply(d, NowNs()) && _cookieResend.OnCookieReply(i, c.State, c.Node, node);
                        _cookieNode[i] = node;
                    }
                    if (resend)
                    {
                        // With mac2 now; the DH work off the receive thread, as the timer's initiations.
                        int index = i;
                        ThreadPool.UnsafeQueueUserWorkItem(_ => Act(index, FailoverAction.Handshake, cookieResend: true), null);
                    }
                    return;
                }
            case MessageLayout.TypeTransport:
                {
                    int i = IndexOf(BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.TransportReceiver..]));
                    if (i < 0)
                    {
                        return;
                    }
                    int len;
                    lock (_clients[i])
                    {
                        len = _sims[i].Open(d);
                    }
                    if (len > 0 && d[MessageLayout.TransportPayload] == 0)
                    {
                        OnControl(i, node, d.Slice(MessageLayout.TransportPayload, len), now);
                    }
                    return;
                }
            default:
                return;
        }
    }

    private void OnControl(int i, int node, ReadOnlySpan<byte> plaintext, long now)
    {
        if (!ControlFrame.TryReadHeader(plaintext, out ControlFrameType type, out _))
        {
            return;
        }
        FailoverClient c = _clients[i];
        lock (c)
        {
            switch (type)
            {
                case ControlFrameType.HelloAck when HelloAckFrame.TryParse(plaintext, out HelloAckFrame ack):
                    {
                        bool first = c.SessionId.IsNone && c.State == FailoverClientState.Helloing;
                        c.OnHelloAck(now, node, ack.SessionId, ack.StateVersion, now + Random.Shared.NextInt64(_heartbeatMs));
                        if (first && !c.SessionId.IsNone)
                        {
                            Interlocked.Increment(ref _attached);
                        }
                        return;
                    }
                case ControlFrameType.KeepaliveAck when KeepaliveAckFrame.TryParse(plaintext, out KeepaliveAckFrame ka):
                    c.OnKeepaliveAck(now, node, ka.StateVersion);
                    return;
                case ControlFrameType.ReattachAck when ReattachAckFrame.TryParse(plaintext, out ReattachAckFrame ra):
                    c.OnReattachAck(now, node, ra.SessionId, ra.NewStateVersion);
                    return;
                case ControlFrameType.ReattachReject when ReattachRejectFrame.TryParse(plaintext, out ReattachRejectFrame rej):
                    c.OnRefused(now, rej.Reason, rej.RetryAfterMs, rej.CurrentStateVersion);
                    return;
                case ControlFrameType.SessionMove when SessionMoveFrame.TryParse(plaintext, out SessionMoveFrame move):
                    {
                        int target = move.Target is { } ep ? Array.FindIndex(_nodeEndpoints, e => e.Equals(ep)) : -1;
                        if (c.OnSessionMove(now, node, move.SessionId, move.StateVersion, target))
                        {
                            Interlocked.Increment(ref _moves);
                            int index = i;
                            ThreadPool.UnsafeQueueUserWorkItem(_ => Act(index, FailoverAction.Handshake), null);
                        }
                        return;
                    }
                case ControlFrameType.Terminate when TerminateFrame.TryParse(plaintext, out TerminateFrame t):
                    // To a new session's HELLO the reason says why none was made; to a session, it is over.
                    c.OnRefused(now, t.SessionId.IsNone ? t.Reason : ReasonCode.SessionTerminated, 0);
                    return;
                default:
                    return;
            }
        }
    }

    public void Dispose()
    {
        if (_stop)
        {
            return;
        }
        _stop = true;
        if (_timer.IsAlive)
        {
            _timer.Join(); // it sends: the sockets close only after it has stopped
        }
        foreach (Socket s in _sockets)
        {
            s.Dispose();
        }
        foreach (Thread t in _receivers)
        {
            if (t.IsAlive)
            {
                t.Join(1000);
            }
        }
    }
}
