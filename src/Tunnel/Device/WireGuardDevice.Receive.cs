using System.Buffers.Binary;
using System.Net;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Routing;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

public sealed partial class WireGuardDevice
{
    [ThreadStatic]
    private static List<Keypair>? t_retired;

    /// <summary>
    /// Classifies and, for transport data, decrypts one datagram in place (hot path: no allocation, no
    /// exceptions; every drop is a counter). On <see cref="ReceiveResult.Deliver"/> the inner packet is
    /// datagram[packetOffset..packetOffset+packetLength]. Handshake messages are left for the handshake
    /// thread (<see cref="ReceiveResult.Handshake"/>). Several receive threads may call it at once
    /// (docs/threads.md "Receive threads"): the replay window locks itself per keypair, and the peer state
    /// it updates is interlocked or single-reference writes.
    /// </summary>
    public ReceiveResult Decapsulate(Span<byte> datagram, SocketAddress from, out int packetOffset,
        out int packetLength, out Peer? peer)
        => Decapsulate(datagram, from, NowNs(), out packetOffset, out packetLength, out peer);

    /// <summary>
    /// <see cref="Decapsulate(Span{byte}, SocketAddress, out int, out int, out Peer?)"/> with the caller's
    /// <see cref="NowNs"/> read once per receive batch (docs/performance.md "Packet-thread profile").
    /// </summary>
    public ReceiveResult Decapsulate(Span<byte> datagram, SocketAddress from, long now, out int packetOffset,
        out int packetLength, out Peer? peer)
    {
        packetOffset = MessageLayout.TransportPayload;
        packetLength = 0;
        peer = null;
        if (datagram.Length < 4)
        {
            Interlocked.Increment(ref Counters.RxMalformed);
            return ReceiveResult.Drop;
        }
        // The type is one byte followed by three reserved zero bytes (whitepaper §5.4); like wireguard-go,
        // which reads the four as one little-endian type, a non-zero reserved byte makes it no known type.
        if ((BinaryPrimitives.ReadUInt32LittleEndian(datagram) & 0xFFFFFF00u) != 0)
        {
            Interlocked.Increment(ref Counters.RxMalformed);
            return ReceiveResult.Drop;
        }
        byte type = datagram[0];
        if (type != MessageLayout.TypeTransport)
        {
            bool sizeOk = type switch
            {
                MessageLayout.TypeInitiation => datagram.Length == MessageLayout.InitiationSize,
                MessageLayout.TypeResponse => datagram.Length == MessageLayout.ResponseSize,
                MessageLayout.TypeCookieReply => datagram.Length == MessageLayout.CookieReplySize,
                _ => false,
            };
            if (sizeOk)
            {
                return ReceiveResult.Handshake;
            }
            Interlocked.Increment(ref Counters.RxMalformed);
            return ReceiveResult.Drop;
        }
        if (datagram.Length < MessageLayout.TransportMinSize)
        {
            Interlocked.Increment(ref Counters.RxMalformed);
            return ReceiveResult.Drop;
        }
        uint receiver = BinaryPrimitives.ReadUInt32LittleEndian(datagram[MessageLayout.TransportReceiver..]);
        if (!_indices.TryGet(receiver, out IndexEntry? entry) || entry!.Keypair is not Keypair keypair)
        {
            Interlocked.Increment(ref Counters.RxUnknownIndex);
            return ReceiveResult.Drop;
        }
        peer = entry.Peer;
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(datagram[MessageLayout.TransportCounter..]);
        if (keypair.Expired(now) || counter >= ProtocolTimes.RejectAfterMessages)
        {
            Interlocked.Increment(ref Counters.RxExpiredKeypair);
            return ReceiveResult.Drop;
        }
        Span<byte> sealedPayload = datagram[MessageLayout.TransportPayload..];
        Span<byte> plaintext = sealedPayload[..^16];
        if (!keypair.TryEnter())
        {
            // Retired after the index lookup: its key is (about to be) zero.
            Interlocked.Increment(ref Counters.RxUnknownIndex);
            return ReceiveResult.Drop;
        }
        bool opened = keypair.Receive.Open(counter, sealedPayload, plaintext);
        keypair.Exit();
        if (!opened)
        {
            Interlocked.Increment(ref Counters.RxBadMac);
            return ReceiveResult.Drop;
        }
        // Replay check after authentication, so forged counters cannot advance the window (RFC 6479 §3).
        if (!keypair.Replay.TryAccept(counter, ProtocolTimes.RejectAfterMessages))
        {
            Interlocked.Increment(ref Counters.RxReplay);
            peer.CountReplay();
            return ReceiveResult.Drop;
        }
        OnAuthenticatedReceive(peer, keypair, from, datagram.Length, now, plaintext);

        if (plaintext.IsEmpty)
        {
            return ReceiveResult.Keepalive;
        }
        // IPv4 starts 0x4_, IPv6 0x6_; 0x00 marks a Jumping control frame (docs/design.md §2.2). It is already
        // authenticated by the AEAD and protected by the replay window like any transport packet.
        if (plaintext[0] == 0x00)
        {
            packetLength = plaintext.Length;
            return ReceiveResult.Control;
        }
        // Cryptokey routing, receive side (whitepaper §2.2): the inner source must be one of the
        // sending peer's allowed IPs, and the inner length trims WireGuard's zero padding.
        if (!IpPacket.TryGetTotalLength(plaintext, out int innerLength) || innerLength > plaintext.Length
            || !IpPacket.TryGetSource(plaintext, out ReadOnlySpan<byte> src))
        {
            Interlocked.Increment(ref Counters.RxMalformed);
            return ReceiveResult.Drop;
        }
        if (!ReferenceEquals(AllowedIps.Lookup(src), peer))
        {
            Interlocked.Increment(ref Counters.RxSourceNotAllowed);
            return ReceiveResult.Drop;
        }
        peer.Timers.DataReceived(now);
        peer.MarkDataRx(now);
        packetLength = innerLength;
        return ReceiveResult.Deliver;
    }

    private void OnAuthenticatedReceive(Peer peer, Keypair keypair, SocketAddress from, int length, long now, ReadOnlySpan<byte> plaintext)
    {
        if (ReferenceEquals(peer.Keypairs.Next, keypair))
        {
            List<Keypair> retired = t_retired ??= new List<Keypair>(3);
            bool confirmed;
            lock (peer.HandshakeLock)
            {
                confirmed = peer.Keypairs.ConfirmNext(keypair, retired);
            }
            RemoveRetired(retired);
            retired.Clear();
            if (confirmed)
            {
                peer.Timers.HandshakeComplete();
                FlushStaged(peer);
            }
        }
        peer.AddRx(length);
        peer.MarkAuthenticatedRx(now);
        peer.Timers.AnyAuthenticatedPacketReceived();
        peer.Timers.AnyAuthenticatedPacketTraversal(now);
        SocketAddress? current = peer.Endpoint;
        if (current is null || !current.Equals(from))
        {
            if (peer.AllowRoaming)
            {
                peer.Endpoint = EndpointCodec.Copy(from);
            }
            else
            {
                Observer?.OnUnboundSource(peer, from, plaintext);
            }
        }
        // Receive-side rekey (timers.c / wireguard-go receive.go): the initiator rekeys when its session
        // nears RejectAfterTime, once, so traffic flowing only toward us still gets a fresh session.
        if (keypair.IsInitiator && !peer.Timers.SentLastMinuteHandshake
            && now - keypair.CreatedNs > ProtocolTimes.RejectAfterTime - ProtocolTimes.KeepaliveTimeout - ProtocolTimes.RekeyTimeout)
        {
            peer.Timers.SentLastMinuteHandshake = true;
            SendHandshakeInitiation(peer, isRetry: false);
        }
    }
}
