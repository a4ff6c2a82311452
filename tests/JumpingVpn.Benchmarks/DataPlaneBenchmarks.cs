using System.Net;
using BenchmarkDotNet.Attributes;
using JumpingVpn.Platform.Net;
using JumpingVpn.Testing;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Replay;
using JumpingVpn.Tunnel.Routing;

namespace JumpingVpn.Benchmarks;

/// <summary>
/// Per-packet costs of the data plane with MemoryDiagnoser: every benchmark here must show 0 B
/// allocated. Run: dotnet run -c Release --project tests/JumpingVpn.Benchmarks -- --filter '*'
/// </summary>
[MemoryDiagnoser]
public class DataPlaneBenchmarks
{
    private const int PacketSize = 1420;
    private readonly byte[] _buffer = new byte[PacketSize + 64];
    private readonly byte[] _sealed = new byte[PacketSize + 64];
    private readonly byte[] _plain = new byte[PacketSize + 64];
    private TransportKey _key = null!;
    private ReplayFilter _replay = null!;
    private ulong _counter;
    private AllowedIps<object> _allowed = null!;
    private readonly byte[] _lookupAddress = [10, 3, 7, 9];
    private WireGuardDevice _a = null!;
    private WireGuardDevice _b = null!;
    private byte[] _packet = null!;
    private SocketAddress _fromA = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = new TransportKey(new byte[32]);
        _key.Seal(0, _plain.AsSpan(0, PacketSize), _sealed.AsSpan(0, PacketSize + 16));
        _replay = new ReplayFilter();
        _allowed = new AllowedIps<object>();
        var rnd = new Random(1);
        for (int i = 0; i < 10_000; i++)
        {
            var addr = new IPAddress(BitConverter.GetBytes(rnd.Next()));
            _allowed.Insert(new IpPrefix(addr, rnd.Next(8, 33)), new object());
        }
        _allowed.Insert(IpPrefix.Parse("10.3.0.0/16"), new object());

        (_a, _b, _fromA) = Pair();
        _packet = new byte[PacketSize];
        _packet[0] = 0x45;
        _packet[2] = PacketSize >> 8;
        _packet[3] = PacketSize & 0xFF;
        new byte[] { 10, 0, 0, 1 }.CopyTo(_packet, 12);
        new byte[] { 10, 0, 0, 2 }.CopyTo(_packet, 16);
        // First packet triggers the handshake; pump it by hand.
        EncapsulateDecapsulate();
    }

    private static (WireGuardDevice, WireGuardDevice, SocketAddress) Pair()
    {
        var wireA = new WireSender();
        var wireB = new WireSender();
        var a = new WireGuardDevice(new DeviceOptions(), wireA);
        var b = new WireGuardDevice(new DeviceOptions(), wireB);
        byte[] ka = new byte[32];
        byte[] kb = new byte[32];
        X25519.GeneratePrivateKey(ka);
        X25519.GeneratePrivateKey(kb);
        a.SetPrivateKey(ka);
        b.SetPrivateKey(kb);
        Peer pb = a.AddPeer(b.Identity!.PublicKey, new byte[32]);
        Peer pa = b.AddPeer(a.Identity!.PublicKey, new byte[32]);
        a.AddAllowedIp(pb, IpPrefix.Parse("10.0.0.2/32"));
        b.AddAllowedIp(pa, IpPrefix.Parse("10.0.0.1/32"));
        SocketAddress addrA = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Loopback, 1), false);
        SocketAddress addrB = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Loopback, 2), false);
        pb.Endpoint = addrB;
        byte[] buffer = new byte[256];
        byte[] ping = new byte[28];
        ping[0] = 0x45;
        ping[3] = 28;
        new byte[] { 10, 0, 0, 1 }.CopyTo(ping, 12);
        new byte[] { 10, 0, 0, 2 }.CopyTo(ping, 16);
        ping.CopyTo(buffer, MessageLayout.TransportHeaderSize);
        a.Encapsulate(buffer, ping.Length, out _, out _, out _);
        for (int round = 0; round < 4; round++)
        {
            foreach ((byte[] d, _) in wireA.Drain())
            {
                if (b.Decapsulate(d, addrA, out _, out _, out _) == ReceiveResult.Handshake)
                {
                    b.ProcessHandshakeMessage(d, addrA, true);
                }
            }
            foreach ((byte[] d, _) in wireB.Drain())
            {
                if (a.Decapsulate(d, addrB, out _, out _, out _) == ReceiveResult.Handshake)
                {
                    a.ProcessHandshakeMessage(d, addrB, true);
                }
            }
        }
        return (a, b, addrA);
    }

    [Benchmark(Description = "ChaCha20-Poly1305 seal, 1420 B")]
    public void Seal() => _key.Seal(_counter++, _plain.AsSpan(0, PacketSize), _buffer.AsSpan(0, PacketSize + 16));

    [Benchmark(Description = "ChaCha20-Poly1305 open, 1420 B")]
    public bool Open() => _key.Open(0, _sealed.AsSpan(0, PacketSize + 16), _plain.AsSpan(0, PacketSize));

    [Benchmark(Description = "replay window check")]
    public bool ReplayCheck() => _replay.TryAccept(_counter++, ulong.MaxValue - 8193);

    [Benchmark(Description = "allowed-IPs lookup (10k prefixes)")]
    public object? AllowedIpsLookup() => _allowed.Lookup(_lookupAddress);

    [Benchmark(Description = "encapsulate + decapsulate, 1420 B")]
    public ReceiveResult EncapsulateDecapsulate()
    {
        _packet.CopyTo(_buffer, MessageLayout.TransportHeaderSize);
        _a.Encapsulate(_buffer, _packet.Length, out int length, out _, out _);
        return _b.Decapsulate(_buffer.AsSpan(0, length), _fromA, out _, out _, out _);
    }
}
