using System.Buffers.Binary;
using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// Datagrams from the network into <see cref="WireGuardDevice.Decapsulate"/> and, for what it classifies
/// as a handshake message, <see cref="WireGuardDevice.ProcessHandshakeMessage"/>, the two calls the
/// receive and handshake loops make. Each input gets a fresh device built from fixed keys that has one
/// peer and has just sent that peer an initiation, so responses and cookie replies have an index to
/// answer. Input: a mode byte, then the body.
/// <list type="bullet">
/// <item>mode &amp; 3 == 0: the body is the datagram as received.</item>
/// <item>mode &amp; 3 == 1, 2, 3: the body becomes an initiation, response or cookie reply of exactly the
/// right size with a valid mac1 computed over it, so the fuzzer gets past the mac1 check into the Noise
/// parsers; bit 4 writes the rig initiation's index into the receiver field.</item>
/// <item>bit 8: the device is under load (mac2 checked, cookie replies sent); bit 16: the per-source
/// rate limit says no; bit 32: the datagram comes from an IPv6 address.</item>
/// </list>
/// Every failure mode of these two calls is a return value or a counter, so any exception is a finding.
/// </summary>
internal static class DatagramTarget
{
    private const byte PatchReceiver = 4;
    private const byte UnderLoad = 8;
    private const byte RateLimited = 16;
    private const byte FromIPv6 = 32;

    private static readonly byte[] DeviceKey = FixedKey(0x11);
    private static readonly byte[] PeerKey = FixedKey(0x22);
    private static readonly byte[] DevicePublicKey = PublicKeyOf(DeviceKey);
    private static readonly byte[] PeerPublicKey = PublicKeyOf(PeerKey);
    private static readonly SocketAddress PeerAddress = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 51820), dualMode: false);
    private static readonly SocketAddress PeerAddressV6 = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("2001:db8::2"), 51820), dualMode: false);
    private static readonly SocketAddress DeviceAddress = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 51820), dualMode: false);

    public static void Run(ReadOnlySpan<byte> data) => Deliver(data);

    /// <summary>Runs one input; returns the device's counters (null for an empty input), so tests can
    /// check that the seeds reach the paths they are meant to.</summary>
    internal static DeviceCounters? Deliver(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return null;
        }
        byte mode = data[0];
        ReadOnlySpan<byte> body = data[1..];
        Rig rig = Rig.Build();
        byte[] datagram = (mode & 3) == 0 ? body.ToArray() : WithValidMac1(mode, body, rig.InitiationIndex);
        rig.Device.UnderLoad = (mode & UnderLoad) != 0;
        SocketAddress from = (mode & FromIPv6) != 0 ? PeerAddressV6 : PeerAddress;
        ReceiveResult result = rig.Device.Decapsulate(datagram, from, out _, out _, out _);
        if (result == ReceiveResult.Handshake)
        {
            rig.Device.ProcessHandshakeMessage(datagram, from, rateLimitOk: (mode & RateLimited) == 0);
        }
        return rig.Device.Counters;
    }

    private static byte[] WithValidMac1(byte mode, ReadOnlySpan<byte> body, uint initiationIndex)
    {
        byte type = (byte)(mode & 3);
        int size = type switch
        {
            MessageLayout.TypeInitiation => MessageLayout.InitiationSize,
            MessageLayout.TypeResponse => MessageLayout.ResponseSize,
            _ => MessageLayout.CookieReplySize,
        };
        byte[] message = new byte[size];
        body[..Math.Min(body.Length, size)].CopyTo(message);
        message[0] = type;
        message[1] = message[2] = message[3] = 0;
        if ((mode & PatchReceiver) != 0 && type != MessageLayout.TypeInitiation)
        {
            int receiver = type == MessageLayout.TypeResponse ? MessageLayout.RespReceiver : MessageLayout.CookieReceiver;
            BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(receiver), initiationIndex);
        }
        if (type != MessageLayout.TypeCookieReply)
        {
            new CookieGenerator(DevicePublicKey).AddMacs(message, FixedClock.Instance.GetTimestamp());
        }
        return message;
    }

    /// <summary>
    /// Valid handshake traffic from the peer, made by a real device holding the peer's key: an
    /// initiation, the response to the rig's initiation and a cookie reply to it. Each reaches the Noise
    /// parsers' success paths; the fuzzer mutates from there.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        byte[] rigInitiation = Rig.Build().Initiation;

        (WireGuardDevice peer, CapturingSender sent, Peer deviceOnPeer) = PeerDevice();
        peer.SendHandshakeInitiation(deviceOnPeer, isRetry: false);
        byte[] initiation = sent.Sent[^1];
        yield return ("initiation", [0, .. initiation]);
        yield return ("initiation-mac1", [1, .. initiation]);
        yield return ("initiation-under-load", [UnderLoad, .. initiation]);
        yield return ("initiation-v6-rate-limited", [UnderLoad | RateLimited | FromIPv6, .. initiation]);

        (peer, sent, _) = PeerDevice();
        peer.ProcessHandshakeMessage(rigInitiation, DeviceAddress, rateLimitOk: true);
        yield return ("response", [0, .. sent.Sent[^1]]);
        yield return ("response-mac1", [2 | PatchReceiver, .. sent.Sent[^1]]);

        (peer, sent, _) = PeerDevice();
        peer.UnderLoad = true;
        peer.ProcessHandshakeMessage(rigInitiation, DeviceAddress, rateLimitOk: true);
        yield return ("cookie-reply", [0, .. sent.Sent[^1]]);
        yield return ("cookie-reply-patched", [3 | PatchReceiver, .. sent.Sent[^1]]);

        byte[] transport = new byte[MessageLayout.TransportMinSize + 20];
        transport[0] = MessageLayout.TypeTransport;
        yield return ("transport", [0, .. transport]);
        yield return ("short", [0, 1, 0, 0]);
    }

    private static (WireGuardDevice Device, CapturingSender Sent, Peer DeviceOnPeer) PeerDevice() =>
        NewDevice(2, PeerKey, DevicePublicKey, "10.0.0.1/32", DeviceAddress);

    /// <summary>A device with fixed time, seeded randomness, <paramref name="privateKey"/> and one peer.</summary>
    private static (WireGuardDevice Device, CapturingSender Sent, Peer Peer) NewDevice(ulong seed, byte[] privateKey,
        byte[] peerPublicKey, string peerAllowedIp, SocketAddress peerAddress)
    {
        var sent = new CapturingSender();
        var device = new WireGuardDevice(new DeviceOptions { Time = FixedClock.Instance, Random = new SeededRandom(seed).Fill }, sent);
        device.SetPrivateKey(privateKey);
        Peer peer = device.AddPeer(peerPublicKey, new byte[32]);
        device.AddAllowedIp(peer, IpPrefix.Parse(peerAllowedIp));
        peer.Endpoint = peerAddress;
        return (device, sent, peer);
    }

    private static byte[] FixedKey(byte fill)
    {
        byte[] key = new byte[32];
        key.AsSpan().Fill(fill);
        X25519.Clamp(key);
        return key;
    }

    private static byte[] PublicKeyOf(byte[] privateKey)
    {
        byte[] publicKey = new byte[32];
        X25519.DerivePublicKey(privateKey, publicKey);
        return publicKey;
    }

    /// <summary>The device under test: fixed key, one peer (10.0.0.2/32 at 192.0.2.2:51820) and the
    /// initiation it has just sent that peer.</summary>
    private sealed class Rig
    {
        private Rig(WireGuardDevice device, byte[] initiation)
        {
            Device = device;
            Initiation = initiation;
            InitiationIndex = BinaryPrimitives.ReadUInt32LittleEndian(initiation.AsSpan(MessageLayout.InitSender));
        }

        public WireGuardDevice Device { get; }

        public byte[] Initiation { get; }

        public uint InitiationIndex { get; }

        public static Rig Build()
        {
            (WireGuardDevice device, CapturingSender sent, Peer peer) = NewDevice(1, DeviceKey, PeerPublicKey, "10.0.0.2/32", PeerAddress);
            device.SendHandshakeInitiation(peer, isRetry: false);
            return new Rig(device, sent.Sent[^1]);
        }
    }
}
