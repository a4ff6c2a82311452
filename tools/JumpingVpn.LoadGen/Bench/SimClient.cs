using System.Buffers.Binary;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.Time;

namespace JumpingVpn.LoadGen.Bench;

/// <summary>
/// One simulated jvpn client of the load generator: its own static key, a real Noise IKpsk2 handshake
/// (the same code a jvpn client runs), its transport keypair and its mirror of the server's session.
/// All mutation happens under the object's lock: replies may arrive on any generator socket.
/// </summary>
internal sealed class SimClient
{
    private readonly StaticIdentity _identity;
    private readonly Handshake _handshake;
    private readonly CookieGenerator _cookies;

    public SimClient(int id, byte[] privateKey, byte[] serverPublicKey, uint innerAddress)
    {
        Id = id;
        _identity = new StaticIdentity(privateKey);
        _handshake = new Handshake(serverPublicKey, new byte[32]);
        _cookies = new CookieGenerator(serverPublicKey);
        LocalIndex = (uint)id + 1;
        InnerAddress = innerAddress;
    }

    public int Id { get; }
    public byte[] PublicKey => _identity.PublicKey;
    public uint LocalIndex { get; }
    public uint InnerAddress { get; }
    public Keypair? Keypair { get; private set; }
    public long KeypairCreatedMs { get; private set; }

    /// <summary>Index of the generator socket the server has bound this session to (its "NAT port").</summary>
    public int Socket { get; set; }

    public SessionId SessionId { get; set; }
    public ulong AckedVersion { get; set; }
    public ulong NextCtrlSeq { get; set; } = 1;

    /// <summary>What the client waits for and since when (Stopwatch ticks); 0 = idle.</summary>
    public PendingOp Pending { get; set; }
    public long PendingSinceTicks { get; set; }
    public long FirstSentTicks { get; set; }
    public ulong PendingCtrlSeq { get; set; }

    /// <summary>First ctrl_seq of the current reattach operation (retries use later ones) and the racing request's.</summary>
    public ulong OpFirstCtrlSeq { get; set; }
    public ulong RacingCtrlSeq { get; set; }
    public int PendingSocket { get; set; }
    public int RacingSocket { get; set; } = -1;
    public long DoneTicks { get; set; }
    public int Acks { get; set; }
    public int Rejects { get; set; }
    public ulong LastAckVersion { get; set; }

    /// <summary>Set when two REATTACH_ACKs named the same new version for different addresses.</summary>
    public bool DualAck { get; set; }

    /// <summary>Builds a handshake initiation (148 bytes) with mac1 and, if we hold a cookie, mac2.</summary>
    public void WriteInitiation(Span<byte> message, long nowNs, long unixNs)
    {
        Span<byte> timestamp = stackalloc byte[Tai64N.Size];
        Tai64N.FromUnixNanoseconds(unixNs).WriteTo(timestamp);
        if (!_handshake.CreateInitiation(_identity, LocalIndex, timestamp, System.Security.Cryptography.RandomNumberGenerator.Fill, message))
        {
            throw new InvalidOperationException("the server public key is invalid");
        }
        _cookies.AddMacs(message, nowNs);
    }

    /// <summary>Consumes the server's response; true when transport keys are installed.</summary>
    public bool ConsumeResponse(ReadOnlySpan<byte> message, long nowMs)
    {
        SessionKeys? keys = _handshake.ConsumeResponse(_identity, message);
        if (keys is null)
        {
            return false;
        }
        Keypair?.Send.Dispose();
        Keypair?.Receive.Dispose();
        Keypair = new Keypair(keys.SendKey, keys.ReceiveKey, keys.IsInitiator, keys.LocalIndex, keys.RemoteIndex, 0);
        keys.Clear();
        KeypairCreatedMs = nowMs;
        return true;
    }

    public bool ConsumeCookieReply(ReadOnlySpan<byte> message, long nowNs) => _cookies.ConsumeReply(message, nowNs);

    /// <summary>Seals <paramref name="plaintext"/> as a transport data message; returns its length (0 without keys).</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, Span<byte> datagram)
    {
        Keypair? kp = Keypair;
        if (kp is null)
        {
            return 0;
        }
        int padded = (plaintext.Length + 15) & ~15;
        datagram[..MessageLayout.TransportHeaderSize].Clear();
        datagram[0] = MessageLayout.TypeTransport;
        BinaryPrimitives.WriteUInt32LittleEndian(datagram[MessageLayout.TransportReceiver..], kp.RemoteIndex);
        ulong counter = kp.NextSendNonce();
        BinaryPrimitives.WriteUInt64LittleEndian(datagram[MessageLayout.TransportCounter..], counter);
        Span<byte> body = datagram.Slice(MessageLayout.TransportPayload, padded);
        plaintext.CopyTo(body);
        body[plaintext.Length..].Clear();
        kp.Send.Seal(counter, body, datagram.Slice(MessageLayout.TransportPayload, padded + ChaChaPoly.TagSize));
        return MessageLayout.TransportPayload + padded + ChaChaPoly.TagSize;
    }

    /// <summary>Opens a transport message in place; the plaintext length, or -1 if it does not verify.</summary>
    public int Open(Span<byte> datagram)
    {
        Keypair? kp = Keypair;
        if (kp is null || datagram.Length < MessageLayout.TransportMinSize)
        {
            return -1;
        }
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(datagram[MessageLayout.TransportCounter..]);
        Span<byte> sealedPayload = datagram[MessageLayout.TransportPayload..];
        return kp.Receive.Open(counter, sealedPayload, sealedPayload[..^ChaChaPoly.TagSize]) ? sealedPayload.Length - ChaChaPoly.TagSize : -1;
    }
}

internal enum PendingOp : byte
{
    None,
    Handshake,
    Hello,
    Keepalive,
    Reattach,
}
