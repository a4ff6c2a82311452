using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Tunnel.Loops;

/// <summary>
/// Two protocol cores, each with its real <see cref="TunnelLoops"/>, over in-memory devices
/// (docs/data-plane.md §3.6): A = 10.0.0.1 on <see cref="TunA"/>, UDP 192.0.2.1:1001; B = 10.0.0.2 on
/// <see cref="TunB"/>, UDP 192.0.2.2:1002. A knows B's endpoint and starts the handshake with its first
/// packet; B learns A's from it. With <c>clientPaths</c>, A's loops also serve a <see cref="PathSocketSet"/>
/// (a client with path management, docs/design.md §4), so A's receive thread waits on several transports.
/// With <c>secondReceiverOnB</c>, B runs a second receive thread on <see cref="TransportB2"/> (192.0.2.2:1003),
/// and A sends to that one (docs/threads.md "Receive threads").
/// </summary>
internal sealed class LoopPair : IDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LoopPair(bool clientPaths = false, bool secondReceiverOnB = false)
    {
        TransportA = Network.Bind("192.0.2.1", 1001);
        TransportB = Network.Bind("192.0.2.2", 1002);
        TransportB2 = secondReceiverOnB ? Network.Bind("192.0.2.2", 1003) : null;
        var random = new DeterministicRandom(7);
        byte[] keyA = new byte[32];
        byte[] keyB = new byte[32];
        X25519.GeneratePrivateKey(keyA, random.Fill);
        X25519.GeneratePrivateKey(keyB, random.Fill);
        A = new WireGuardDevice(new DeviceOptions { Time = Clock, Random = random.Fill }, TransportA);
        B = new WireGuardDevice(new DeviceOptions { Time = Clock, Random = random.Fill }, TransportB);
        A.SetPrivateKey(keyA);
        B.SetPrivateKey(keyB);
        PeerBOnA = A.AddPeer(B.Identity!.PublicKey, new byte[32]);
        PeerAOnB = B.AddPeer(A.Identity!.PublicKey, new byte[32]);
        A.AddAllowedIp(PeerBOnA, IpPrefix.Parse("10.0.0.2/32"));
        B.AddAllowedIp(PeerAOnB, IpPrefix.Parse("10.0.0.1/32"));
        PeerBOnA.Endpoint = (TransportB2 ?? TransportB).SocketAddress;
        Paths = clientPaths ? new PathSocketSet() : null;
        LoopsA = new TunnelLoops(A, TunA, TransportA, NullLogger.Instance, Paths, code => _exit.TrySetResult(code));
        LoopsB = new TunnelLoops(B, TunB, TransportB, NullLogger.Instance, exitProcess: code => _exit.TrySetResult(code),
            moreReceivers: TransportB2 is null ? null : [TransportB2]);
    }

    public ManualTimeProvider Clock { get; } = new();
    public ChannelNetwork Network { get; } = new();
    public ChannelTun TunA { get; } = new("jvtestA");
    public ChannelTun TunB { get; } = new("jvtestB");
    public ChannelTransport TransportA { get; }
    public ChannelTransport TransportB { get; }
    public ChannelTransport? TransportB2 { get; }
    public WireGuardDevice A { get; }
    public WireGuardDevice B { get; }
    public Peer PeerBOnA { get; }
    public Peer PeerAOnB { get; }
    public PathSocketSet? Paths { get; }
    public TunnelLoops LoopsA { get; }
    public TunnelLoops LoopsB { get; }

    /// <summary>Whether a loop asked to end the process (it must not, in these tests).</summary>
    public bool ExitRequested => _exit.Task.IsCompleted;

    public void Start()
    {
        LoopsA.Start();
        LoopsB.Start();
    }

    /// <summary>A pings B through both pairs of loops; returns what B's TUN received and what came back to A's.</summary>
    public (byte[]? AtB, byte[]? AtA) Ping(ushort sequence)
    {
        byte[] request = IcmpEcho.Request("10.0.0.1", "10.0.0.2", identifier: 0x4a56, sequence);
        TunA.Inject(request);
        byte[]? atB = TunB.TryTakeWritten(Patience);
        if (atB is null)
        {
            return (null, null);
        }
        TunB.Inject(IcmpEcho.ReplyTo(atB));
        return (atB, TunA.TryTakeWritten(Patience));
    }

    /// <summary>Waits (up to <see cref="Patience"/>) for what a loop thread publishes after the packet it
    /// handled has already arrived, such as its counters.</summary>
    public static bool Eventually(Func<bool> condition)
    {
        long deadline = Environment.TickCount64 + (long)Patience.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }
            Thread.Sleep(5);
        }
        return true;
    }

    public void Dispose()
    {
        LoopsA.Dispose();
        LoopsB.Dispose();
        TunA.Dispose();
        TunB.Dispose();
        TransportA.Dispose();
        TransportB.Dispose();
        TransportB2?.Dispose();
        foreach (PathSocket path in Paths?.Snapshot ?? [])
        {
            path.Dispose();
        }
    }
}

/// <summary>ICMPv4 echo request and reply packets with valid IPv4 and ICMP checksums.</summary>
internal static class IcmpEcho
{
    private const int HeaderLength = 20;

    public static byte[] Request(string source, string destination, ushort identifier, ushort sequence)
    {
        byte[] payload = new byte[56];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(sequence + i);
        }
        byte[] p = new byte[HeaderLength + 8 + payload.Length];
        p[0] = 0x45;
        p[2] = (byte)(p.Length >> 8);
        p[3] = (byte)p.Length;
        p[4] = (byte)(sequence >> 8);
        p[5] = (byte)sequence;
        p[8] = 64;
        p[9] = 1; // ICMP
        IPAddress.Parse(source).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(p, 16);
        p[HeaderLength] = 8; // echo request
        p[HeaderLength + 4] = (byte)(identifier >> 8);
        p[HeaderLength + 5] = (byte)identifier;
        p[HeaderLength + 6] = (byte)(sequence >> 8);
        p[HeaderLength + 7] = (byte)sequence;
        payload.CopyTo(p, HeaderLength + 8);
        return Checksummed(p);
    }

    /// <summary>What the pinged host answers: addresses swapped, type 0, the same identifier, sequence and payload.</summary>
    public static byte[] ReplyTo(byte[] request)
    {
        byte[] p = (byte[])request.Clone();
        request.AsSpan(12, 4).CopyTo(p.AsSpan(16));
        request.AsSpan(16, 4).CopyTo(p.AsSpan(12));
        p[HeaderLength] = 0; // echo reply
        return Checksummed(p);
    }

    public static bool IsReplyTo(byte[] reply, byte[] request) =>
        reply.Length == request.Length && reply[9] == 1 && reply[HeaderLength] == 0
        && reply.AsSpan(12, 4).SequenceEqual(request.AsSpan(16, 4)) && reply.AsSpan(16, 4).SequenceEqual(request.AsSpan(12, 4))
        && reply.AsSpan(HeaderLength + 4).SequenceEqual(request.AsSpan(HeaderLength + 4));

    public static bool ChecksumsValid(byte[] p) => Sum(p.AsSpan(0, HeaderLength)) == 0xFFFF && Sum(p.AsSpan(HeaderLength)) == 0xFFFF;

    private static byte[] Checksummed(byte[] p)
    {
        p[10] = p[11] = 0;
        p[HeaderLength + 2] = p[HeaderLength + 3] = 0;
        ushort ip = (ushort)~Sum(p.AsSpan(0, HeaderLength));
        p[10] = (byte)(ip >> 8);
        p[11] = (byte)ip;
        ushort icmp = (ushort)~Sum(p.AsSpan(HeaderLength));
        p[HeaderLength + 2] = (byte)(icmp >> 8);
        p[HeaderLength + 3] = (byte)icmp;
        return p;
    }

    /// <summary>The ones'-complement sum of 16-bit words, folded; 0xFFFF over a correct header.</summary>
    private static ushort Sum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }
        if ((data.Length & 1) != 0)
        {
            sum += (uint)(data[^1] << 8);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }
}
