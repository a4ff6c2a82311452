using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// The client side of `jvpn-loadgen control`: N <see cref="SimClient"/>s multiplexed over a pool of UDP
/// sockets on distinct loopback addresses (each socket is one "NAT mapping"; a reattach moves a client to
/// another socket, i.e. a new source address and port). One receive thread per socket demultiplexes the
/// server's replies by receiver index, which is the client's id + 1. Everything measured here is what
/// came back over the wire from the real server; nothing is assumed.
/// </summary>
internal sealed partial class LoadGenerator : IDisposable
{
    private readonly Socket[] _sockets;
    private readonly SocketAddress[] _socketAddresses;
    private readonly SocketAddress _server;
    private readonly Thread[] _receivers;
    private readonly CancellationTokenSource _stop = new();
    private long _helloAcks;
    private long _reattachDone;
    private long _keepaliveAcks;
    private long _refused;

    public LoadGenerator(SimClient[] clients, IPEndPoint server, int socketCount)
    {
        Clients = clients;
        _server = server.Serialize();
        _sockets = new Socket[socketCount];
        _socketAddresses = new SocketAddress[socketCount];
        _receivers = new Thread[socketCount];
        for (int i = 0; i < socketCount; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
            {
                ReceiveBufferSize = 4 << 20,
                SendBufferSize = 1 << 20,
            };
            // 127.0.0.0/8 is all loopback: distinct source addresses stand for distinct clients/NATs.
            s.Bind(new IPEndPoint(new IPAddress(new byte[] { 127, 0, (byte)(2 + (i / 250)), (byte)(1 + (i % 250)) }), 0));
            _sockets[i] = s;
            _socketAddresses[i] = s.LocalEndPoint!.Serialize();
            int index = i;
            _receivers[i] = new Thread(() => Receive(index)) { IsBackground = true, Name = $"bench-rx-{i}" };
        }
        foreach (Thread t in _receivers)
        {
            t.Start();
        }
    }

    public SimClient[] Clients { get; }
    public int SocketCount => _sockets.Length;
    public long HelloAcks => Interlocked.Read(ref _helloAcks);
    public long ReattachesDone => Interlocked.Read(ref _reattachDone);
    public long KeepaliveAcks => Interlocked.Read(ref _keepaliveAcks);
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>The local address of socket <paramref name="i"/> ("ip:port"), as the server sees it.</summary>
    public IPEndPoint SocketEndPoint(int i) => (IPEndPoint)_sockets[i].LocalEndPoint!;

    public static long NowTicks() => Stopwatch.GetTimestamp();

    public static double TicksToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static long NowNs() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    private static long NowMs() => Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency;

    private static ulong WallMs() => (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public void SendRaw(int socket, ReadOnlySpan<byte> datagram) => _sockets[socket].SendTo(datagram, SocketFlags.None, _server);

    // ------------------------------------------------------------------ requests

    public void StartHandshake(SimClient c)
    {
        Span<byte> message = stackalloc byte[MessageLayout.InitiationSize];
        lock (c)
        {
            c.WriteInitiation(message, NowNs(), (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
            c.Pending = PendingOp.Handshake;
            c.PendingSinceTicks = NowTicks();
        }
        SendRaw(c.Socket, message);
    }

    /// <summary>HELLO (new session, or resume after a rekey handshake) as the first transport message.</summary>
    private void SendHello(SimClient c)
    {
        Span<byte> frame = stackalloc byte[HelloFrame.Size];
        Span<byte> datagram = stackalloc byte[256];
        int n;
        lock (c)
        {
            ulong seq = c.NextCtrlSeq++;
            new HelloFrame(ControlFrame.ProtocolVersion, ControlCapabilities.None, seq, c.SessionId, c.AckedVersion, WallMs()).Write(frame);
            n = c.Seal(frame, datagram);
            c.Pending = PendingOp.Hello;
            c.PendingCtrlSeq = seq;
            c.PendingSinceTicks = NowTicks();
        }
        SendRaw(c.Socket, datagram[..n]);
    }

    public void SendKeepalive(SimClient c, bool track)
    {
        Span<byte> frame = stackalloc byte[KeepaliveFrame.Size];
        Span<byte> datagram = stackalloc byte[256];
        int n;
        lock (c)
        {
            ulong seq = c.NextCtrlSeq++;
            new KeepaliveFrame(seq, WallMs(), 0, c.AckedVersion).Write(frame);
            n = c.Seal(frame, datagram);
            if (track)
            {
                c.Pending = PendingOp.Keepalive;
                c.PendingCtrlSeq = seq;
                c.PendingSinceTicks = NowTicks();
            }
        }
        if (n > 0)
        {
            SendRaw(c.Socket, datagram[..n]);
        }
    }

    /// <summary>
    /// REATTACH_REQUEST from socket <paramref name="toSocket"/> (a new NAT mapping). With
    /// <paramref name="racingSocket"/> &gt;= 0 a second request with the next ctrl_seq leaves at once from
    /// another mapping: two racing reattaches that must resolve to exactly one winner (docs/design.md §3).
    /// Returns the datagram of the first request (the abuse phase replays captured ones).
    /// </summary>
    public byte[] SendReattach(SimClient c, int toSocket, int racingSocket, bool retry = false)
    {
        Span<byte> frame = stackalloc byte[ReattachRequestFrame.Size];
        Span<byte> first = stackalloc byte[256];
        Span<byte> second = stackalloc byte[256];
        int n1, n2 = 0;
        lock (c)
        {
            ulong seq = c.NextCtrlSeq++;
            new ReattachRequestFrame(c.SessionId, seq, c.AckedVersion, ReasonCode.NatRebind, 0, WallMs()).Write(frame);
            n1 = c.Seal(frame, first);
            if (!retry)
            {
                c.FirstSentTicks = NowTicks();
                c.OpFirstCtrlSeq = seq;
                c.RacingCtrlSeq = 0;
            }
            c.Pending = PendingOp.Reattach;
            c.PendingCtrlSeq = seq;
            c.PendingSocket = toSocket;
            c.RacingSocket = racingSocket;
            c.PendingSinceTicks = NowTicks();
            if (racingSocket >= 0)
            {
                ulong seq2 = c.NextCtrlSeq++;
                c.RacingCtrlSeq = seq2;
                new ReattachRequestFrame(c.SessionId, seq2, c.AckedVersion, ReasonCode.NatRebind, 1, WallMs()).Write(frame);
                n2 = c.Seal(frame, second);
            }
        }
        SendRaw(toSocket, first[..n1]);
        if (n2 > 0)
        {
            SendRaw(racingSocket, second[..n2]);
        }
        return first[..n1].ToArray();
    }

    // ------------------------------------------------------------------ replies

    private void Receive(int socketIndex) =>
        DatagramReceiveLoop.Run(_sockets[socketIndex], () => _stop.IsCancellationRequested, (datagram, _) => OnDatagram(datagram));

    private SimClient? ClientFor(uint receiver) => receiver >= 1 && receiver <= (uint)Clients.Length ? Clients[receiver - 1] : null;

    private void OnDatagram(Span<byte> d)
    {
        switch (d[0])
        {
            case MessageLayout.TypeResponse when d.Length == MessageLayout.ResponseSize:
                {
                    SimClient? c = ClientFor(BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.RespReceiver..]));
                    if (c is null)
                    {
                        return;
                    }
                    bool ok;
                    lock (c)
                    {
                        ok = c.Pending == PendingOp.Handshake && c.ConsumeResponse(d, NowMs());
                    }
                    if (ok)
                    {
                        SendHello(c);
                    }
                    return;
                }
            case MessageLayout.TypeCookieReply when d.Length == MessageLayout.CookieReplySize:
                {
                    SimClient? c = ClientFor(BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.CookieReceiver..]));
                    if (c is not null)
                    {
                        lock (c)
                        {
                            c.ConsumeCookieReply(d, NowNs());
                        }
                        // The retry loop resends the initiation, now with mac2 (whitepaper §5.4.7).
                    }
                    return;
                }
            case MessageLayout.TypeTransport:
                {
                    SimClient? c = ClientFor(BinaryPrimitives.ReadUInt32LittleEndian(d[MessageLayout.TransportReceiver..]));
                    if (c is null)
                    {
                        return;
                    }
                    int len;
                    lock (c)
                    {
                        len = c.Open(d);
                    }
                    if (len <= 0)
                    {
                        return; // a WireGuard keepalive or a packet for an older keypair
                    }
                    Span<byte> plaintext = d.Slice(MessageLayout.TransportPayload, len);
                    if (plaintext[0] == 0)
                    {
                        OnControl(c, plaintext);
                    }
                    else if (plaintext[0] >> 4 == 4)
                    {
                        Ping?.OnReply(plaintext);
                    }
                    return;
                }
            default:
                return;
        }
    }

    /// <summary>The ping prober riding on one session (abuse phases), or null.</summary>
    public TunnelPinger? Ping { get; set; }

    private void OnControl(SimClient c, ReadOnlySpan<byte> plaintext)
    {
        if (!ControlFrame.TryReadHeader(plaintext, out ControlFrameType type, out _))
        {
            return;
        }
        long now = NowTicks();
        switch (type)
        {
            case ControlFrameType.HelloAck when HelloAckFrame.TryParse(plaintext, out HelloAckFrame ack):
                lock (c)
                {
                    if (c.Pending == PendingOp.Hello && ack.EchoedCtrlSeq == c.PendingCtrlSeq)
                    {
                        c.SessionId = ack.SessionId;
                        c.AckedVersion = ack.StateVersion;
                        c.Pending = PendingOp.None;
                        c.DoneTicks = now;
                        Interlocked.Increment(ref _helloAcks);
                    }
                }
                return;
            case ControlFrameType.Terminate when TerminateFrame.TryParse(plaintext, out TerminateFrame t) && t.Reason == ReasonCode.SessionLimitReached:
                lock (c)
                {
                    if (c.Pending == PendingOp.Hello)
                    {
                        c.Pending = PendingOp.None;
                        Interlocked.Increment(ref _refused);
                    }
                }
                return;
            case ControlFrameType.KeepaliveAck when KeepaliveAckFrame.TryParse(plaintext, out KeepaliveAckFrame ka):
                lock (c)
                {
                    if (c.Pending == PendingOp.Keepalive && ka.EchoedCtrlSeq == c.PendingCtrlSeq)
                    {
                        c.Pending = PendingOp.None;
                        c.DoneTicks = now;
                        c.LastAckVersion = ka.StateVersion;
                        Interlocked.Increment(ref _keepaliveAcks);
                    }
                }
                return;
            case ControlFrameType.ReattachAck when ReattachAckFrame.TryParse(plaintext, out ReattachAckFrame ra):
                lock (c)
                {
                    c.Acks++;
                    if (c.LastAckVersion == ra.NewStateVersion)
                    {
                        c.DualAck = true; // two winners for one version: exactly what must never happen
                    }
                    c.LastAckVersion = ra.NewStateVersion;
                    // Any request of the current operation may be the one that won: a late ACK of the
                    // first attempt counts, and tells which mapping the server bound.
                    if (c.Pending == PendingOp.Reattach && ra.EchoedCtrlSeq >= c.OpFirstCtrlSeq && ra.EchoedCtrlSeq <= c.PendingCtrlSeq + 1)
                    {
                        c.Socket = ra.EchoedCtrlSeq == c.RacingCtrlSeq && c.RacingSocket >= 0 ? c.RacingSocket : c.PendingSocket;
                        c.AckedVersion = ra.NewStateVersion;
                        c.Pending = PendingOp.None;
                        c.DoneTicks = now;
                        Interlocked.Increment(ref _reattachDone);
                    }
                }
                return;
            case ControlFrameType.ReattachReject when ReattachRejectFrame.TryParse(plaintext, out _):
                lock (c)
                {
                    c.Rejects++;
                }
                return;
            default:
                return;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (Socket s in _sockets)
        {
            s.Dispose();
        }
        foreach (Thread t in _receivers)
        {
            t.Join(1000);
        }
        _stop.Dispose();
    }
}
