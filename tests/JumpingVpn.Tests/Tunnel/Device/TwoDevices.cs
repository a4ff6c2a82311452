using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Device;

/// <summary>
/// Two protocol cores wired back to back through in-memory senders (the C# twin of wireguard-go's
/// bindtest/tuntest pair): A = 10.0.0.1 at 192.0.2.1:1001, B = 10.0.0.2 at 192.0.2.2:1002.
/// </summary>
internal sealed class TwoDevices
{
    public ManualTimeProvider Clock { get; } = new();
    public WireSender WireA { get; } = new();
    public WireSender WireB { get; } = new();
    public WireGuardDevice A { get; }
    public WireGuardDevice B { get; }
    public Peer PeerBOnA { get; }
    public Peer PeerAOnB { get; }
    public SocketAddress AddrA { get; } = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1001), dualMode: false);
    public SocketAddress AddrB { get; } = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 1002), dualMode: false);

    public TwoDevices(byte[]? psk = null, long? rekeyAfterNs = null)
    {
        var random = new DeterministicRandom(42);
        byte[] keyA = new byte[32];
        byte[] keyB = new byte[32];
        X25519.GeneratePrivateKey(keyA, random.Fill);
        X25519.GeneratePrivateKey(keyB, random.Fill);
        var optionsA = new DeviceOptions { Time = Clock, Random = random.Fill, RekeyAfterTimeNs = rekeyAfterNs ?? JumpingVpn.Tunnel.Timers.ProtocolTimes.DefaultRekeyAfterTime };
        var optionsB = new DeviceOptions { Time = Clock, Random = random.Fill, RekeyAfterTimeNs = rekeyAfterNs ?? JumpingVpn.Tunnel.Timers.ProtocolTimes.DefaultRekeyAfterTime };
        A = new WireGuardDevice(optionsA, WireA);
        B = new WireGuardDevice(optionsB, WireB);
        A.SetPrivateKey(keyA);
        B.SetPrivateKey(keyB);
        PeerBOnA = A.AddPeer(B.Identity!.PublicKey, psk ?? new byte[32]);
        PeerAOnB = B.AddPeer(A.Identity!.PublicKey, psk ?? new byte[32]);
        A.AddAllowedIp(PeerBOnA, IpPrefix.Parse("10.0.0.2/32"));
        B.AddAllowedIp(PeerAOnB, IpPrefix.Parse("10.0.0.1/32"));
        PeerBOnA.Endpoint = AddrB;
    }

    /// <summary>Delivers everything in flight (both directions) until the wire is quiet; returns inner packets per side.</summary>
    public (List<byte[]> AtA, List<byte[]> AtB) Pump(int maxRounds = 10)
    {
        var atA = new List<byte[]>();
        var atB = new List<byte[]>();
        for (int round = 0; round < maxRounds; round++)
        {
            var fromA = WireA.Drain();
            var fromB = WireB.Drain();
            if (fromA.Count == 0 && fromB.Count == 0)
            {
                break;
            }
            foreach ((byte[] d, _) in fromA)
            {
                Deliver(B, d, AddrA, atB);
            }
            foreach ((byte[] d, _) in fromB)
            {
                Deliver(A, d, AddrB, atA);
            }
        }
        return (atA, atB);
    }

    public static void Deliver(WireGuardDevice to, byte[] datagram, SocketAddress from, List<byte[]> delivered)
    {
        ReceiveResult r = to.Decapsulate(datagram, from, out int off, out int len, out _);
        if (r == ReceiveResult.Handshake)
        {
            to.ProcessHandshakeMessage(datagram, from, rateLimitOk: true);
        }
        else if (r == ReceiveResult.Deliver)
        {
            delivered.Add(datagram.AsSpan(off, len).ToArray());
        }
    }

    /// <summary>A minimal IPv4/UDP-shaped packet from src to dst with a payload marker.</summary>
    public static byte[] Ipv4Packet(string src, string dst, int payloadLength, byte marker = 0xAB)
    {
        int total = 20 + payloadLength;
        byte[] p = new byte[total];
        p[0] = 0x45;
        p[2] = (byte)(total >> 8);
        p[3] = (byte)total;
        p[8] = 64;
        p[9] = 17;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(p, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(p, 16);
        p.AsSpan(20).Fill(marker);
        return p;
    }

    /// <summary>Runs a packet through Encapsulate; on Send, returns the datagram.</summary>
    public static (SendResult Result, byte[]? Datagram) Encapsulate(WireGuardDevice dev, byte[] packet)
    {
        byte[] buffer = new byte[MessageLayout.TransportHeaderSize + packet.Length + 64];
        packet.CopyTo(buffer, MessageLayout.TransportHeaderSize);
        SendResult r = dev.Encapsulate(buffer, packet.Length, out int len, out _, out _);
        return (r, r == SendResult.Send ? buffer.AsSpan(0, len).ToArray() : null);
    }
}
