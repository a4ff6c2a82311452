using System.Buffers.Binary;
using System.Net;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Routing;
using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

public sealed partial class WireGuardDevice
{
    /// <summary>
    /// Encapsulates one IP packet in place (hot path, no allocation). The caller read the packet into
    /// <paramref name="buffer"/> at offset 16 (the transport header's room) and the buffer has at least
    /// 32 spare bytes after it for padding and the tag. On <see cref="SendResult.Send"/> the datagram is
    /// buffer[0..datagramLength] and must go to <paramref name="destination"/>.
    /// </summary>
    public SendResult Encapsulate(Span<byte> buffer, int packetLength, out int datagramLength,
        out SocketAddress? destination, out Peer? peer)
        => Encapsulate(buffer, packetLength, NowNs(), out datagramLength, out destination, out peer);

    /// <summary>
    /// <see cref="Encapsulate(Span{byte}, int, out int, out SocketAddress?, out Peer?)"/> with the caller's
    /// <see cref="NowNs"/> read once per batch: a clock read per packet was 2-3 % of a packet thread's samples
    /// (docs/performance.md "Packet-thread profile"), and a batch lasts microseconds against timers of
    /// milliseconds and more.
    /// </summary>
    public SendResult Encapsulate(Span<byte> buffer, int packetLength, long now, out int datagramLength,
        out SocketAddress? destination, out Peer? peer)
    {
        datagramLength = 0;
        destination = null;
        ReadOnlySpan<byte> packet = buffer.Slice(MessageLayout.TransportHeaderSize, packetLength);
        if (!IpPacket.TryGetDestination(packet, out ReadOnlySpan<byte> dst))
        {
            peer = null;
            Interlocked.Increment(ref Counters.RxMalformed);
            return SendResult.Malformed;
        }
        peer = AllowedIps.Lookup(dst);
        if (peer is null)
        {
            Interlocked.Increment(ref Counters.TxNoRoute);
            return SendResult.NoRoute;
        }
        destination = peer.Endpoint;
        if (destination is null)
        {
            Interlocked.Increment(ref Counters.TxNoEndpoint);
            return SendResult.NoEndpoint;
        }
        Keypair? keypair = peer.Keypairs.Current;
        if (keypair is null || keypair.Expired(now) || keypair.SendNonceUsed >= ProtocolTimes.RejectAfterMessages)
        {
            StageAndHandshake(peer, buffer[..(MessageLayout.TransportHeaderSize + packetLength)], now);
            return SendResult.Staged;
        }
        datagramLength = Seal(peer, keypair, buffer, packetLength, now);
        if (datagramLength == 0 && keypair.IsRetired && peer.Keypairs.Current is Keypair replacement
            && !ReferenceEquals(replacement, keypair))
        {
            // A handshake replaced the keypair between the read and the seal: use the new one.
            datagramLength = Seal(peer, replacement, buffer, packetLength, now);
        }
        if (datagramLength == 0)
        {
            StageAndHandshake(peer, buffer[..(MessageLayout.TransportHeaderSize + packetLength)], now);
            return SendResult.Staged;
        }
        return SendResult.Send;
    }

    /// <summary>
    /// Pads to a multiple of 16 without exceeding the MTU (whitepaper §5.4.6), writes the header, seals
    /// in place and runs the send-side timer hooks. Returns 0 if the keypair's counter is exhausted or
    /// the keypair was retired meanwhile (its key may be zero: never seal with it).
    /// </summary>
    private int Seal(Peer peer, Keypair keypair, Span<byte> buffer, int packetLength, long now)
    {
        if (!keypair.TryEnter())
        {
            return 0;
        }
        ulong nonce = keypair.NextSendNonce();
        if (nonce >= ProtocolTimes.RejectAfterMessages)
        {
            keypair.Exit();
            return 0;
        }
        int padded = PaddedLength(packetLength, _options.Mtu);
        Span<byte> payload = buffer.Slice(MessageLayout.TransportHeaderSize, padded);
        payload[packetLength..].Clear();
        buffer[0] = MessageLayout.TypeTransport;
        buffer[1] = 0;
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[MessageLayout.TransportReceiver..], keypair.RemoteIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[MessageLayout.TransportCounter..], nonce);
        // A Jumping control frame (first byte 0x00, docs/protocol.md §1) is not data for WireGuard's
        // timers: an answer such as KEEPALIVE_ACK expects no reply, and arming new-handshake for it would
        // make an idle server initiate a handshake 15 s after answering a client's keepalive.
        bool data = packetLength > 0 && payload[0] != 0;
        keypair.Send.Seal(nonce, payload, buffer.Slice(MessageLayout.TransportHeaderSize, padded + 16));
        keypair.Exit();
        int length = MessageLayout.TransportHeaderSize + padded + 16;

        peer.AddTx(length);
        peer.Timers.AnyAuthenticatedPacketTraversal(now);
        peer.Timers.AnyAuthenticatedPacketSent();
        if (data)
        {
            peer.Timers.DataSent(now);
            peer.MarkDataTx(now);
        }
        // Rekey on send when our own session is old (whitepaper §6.2: the initiator of the current
        // session rekeys after RekeyAfterTime or RekeyAfterMessages).
        if (keypair.IsInitiator && (nonce > ProtocolTimes.RekeyAfterMessages || now - keypair.CreatedNs > _options.RekeyAfterTimeNs))
        {
            SendHandshakeInitiation(peer, isRetry: false);
        }
        return length;
    }

    internal static int PaddedLength(int length, int mtu)
    {
        int padded = (length + 15) & ~15;
        if (length <= mtu && padded > mtu)
        {
            padded = mtu;
        }
        return Math.Max(padded, length);
    }

    private void StageAndHandshake(Peer peer, ReadOnlySpan<byte> bufferWithHeaderRoom, long now)
    {
        _ = now;
        peer.Stage(bufferWithHeaderRoom);
        Interlocked.Increment(ref Counters.TxStaged);
        SendHandshakeInitiation(peer, isRetry: false);
    }

    /// <summary>
    /// Sends an empty transport message (a keepalive, whitepaper §6.5). Without a session it starts a
    /// handshake instead, as WireGuard does.
    /// </summary>
    public void SendKeepalive(Peer peer)
    {
        SocketAddress? to = peer.Endpoint;
        Keypair? keypair = peer.Keypairs.Current;
        long now = NowNs();
        if (to is null)
        {
            return;
        }
        if (keypair is null || keypair.Expired(now))
        {
            SendHandshakeInitiation(peer, isRetry: false);
            return;
        }
        Span<byte> buffer = stackalloc byte[MessageLayout.TransportMinSize];
        int length = Seal(peer, keypair, buffer, 0, now);
        if (length > 0)
        {
            SenderFor(peer).Send(buffer[..length], to);
        }
    }

    /// <summary>
    /// Sends a Jumping control frame to <paramref name="peer"/> as the plaintext of a transport message,
    /// so it is encrypted and authenticated by the current keypair (docs/design.md §2.2). <paramref name="to"/>
    /// overrides the destination (a REBIND_HINT goes to the unbound address it answers) and
    /// <paramref name="via"/> the socket (a PATH_PROBE or REATTACH on a candidate path). Returns false
    /// without a usable session. Cold path (control frames are a few per second at most).
    /// </summary>
    public bool SendControl(Peer peer, ReadOnlySpan<byte> frame, SocketAddress? to = null, IDatagramSender? via = null)
    {
        to ??= peer.Endpoint;
        Keypair? keypair = peer.Keypairs.Current;
        long now = NowNs();
        if (to is null || keypair is null || keypair.Expired(now) || frame.IsEmpty || frame[0] != 0
            || frame.Length > _options.Mtu)
        {
            return false;
        }
        Span<byte> buffer = stackalloc byte[MessageLayout.TransportHeaderSize + _options.Mtu + 32];
        frame.CopyTo(buffer[MessageLayout.TransportHeaderSize..]);
        int length = Seal(peer, keypair, buffer, frame.Length, now);
        return length > 0 && (via ?? SenderFor(peer)).Send(buffer[..length], to);
    }

    /// <summary>Sends the packets queued while the handshake was in flight (called once a session exists).</summary>
    private void FlushStaged(Peer peer)
    {
        List<(byte[] Buffer, int Length)> staged = peer.TakeStaged();
        if (staged.Count == 0)
        {
            SendKeepalive(peer); // confirm the new session to the responder (timers.c "keepalive after handshake")
            return;
        }
        foreach ((byte[] buf, int len) in staged)
        {
            Keypair? keypair = peer.Keypairs.Current;
            SocketAddress? to = peer.Endpoint;
            if (keypair is not null && to is not null)
            {
                int length = Seal(peer, keypair, buf, len - MessageLayout.TransportHeaderSize, NowNs());
                if (length > 0)
                {
                    SenderFor(peer).Send(buf.AsSpan(0, length), to);
                }
            }
            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>The peer's path socket if the path manager chose one, else the primary socket.</summary>
    private IDatagramSender SenderFor(Peer peer) => peer.Via ?? _sender;
}
