using System.Buffers.Binary;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tunnel.Noise;

/// <summary>
/// One peer's WireGuard handshake (whitepaper §5.4.2-§5.4.5): creates and consumes initiations and
/// responses and derives the transport keys. Sans-I/O: ephemeral randomness and the TAI64N timestamp
/// are inputs. Not thread-safe: the owning peer serialises access with its handshake lock.
/// mac1/mac2 are outside Noise and are handled by the cookie classes.
/// </summary>
public sealed class Handshake
{
    private readonly SymmetricState _state = new();
    private readonly byte[] _localEphemeralPrivate = new byte[X25519.KeySize];
    private readonly byte[] _remoteEphemeral = new byte[X25519.KeySize];

    public Handshake(ReadOnlySpan<byte> remoteStatic, ReadOnlySpan<byte> presharedKey)
    {
        RemoteStatic = remoteStatic.ToArray();
        PresharedKey = new byte[X25519.KeySize];
        presharedKey.CopyTo(PresharedKey);
    }

    public byte[] RemoteStatic { get; }

    /// <summary>All zero when the peer has no preshared key (whitepaper §5.4.3: Q = 0^32).</summary>
    public byte[] PresharedKey { get; }

    public HandshakeState State { get; private set; }
    public uint LocalIndex { get; private set; }
    public uint RemoteIndex { get; private set; }

    /// <summary>Greatest TAI64N timestamp accepted so far; replays of older initiations are rejected (§5.1).</summary>
    public byte[] LastTimestamp { get; } = new byte[12];

    /// <summary>When the last initiation from this peer was consumed (monotonic ns), for flood protection.</summary>
    public long LastInitiationConsumedNs { get; private set; } = long.MinValue;

    public void SetPresharedKey(ReadOnlySpan<byte> psk)
    {
        Array.Clear(PresharedKey);
        psk.CopyTo(PresharedKey);
    }

    /// <summary>Builds a handshake initiation (148 bytes; mac fields left zero). False on a bad remote key.</summary>
    public bool CreateInitiation(StaticIdentity local, uint localIndex, ReadOnlySpan<byte> tai64n,
        Action<Span<byte>> random, Span<byte> message)
    {
        message[..MessageLayout.InitiationSize].Clear();
        NoiseIKpsk2.Initialize(_state, NoiseConstants.Identifier, RemoteStatic);
        Span<byte> ePub = stackalloc byte[X25519.KeySize];
        X25519.GeneratePrivateKey(_localEphemeralPrivate, random);
        X25519.DerivePublicKey(_localEphemeralPrivate, ePub);
        if (!NoiseIKpsk2.WriteMessage1(_state, _localEphemeralPrivate, ePub, local.PrivateKey, local.PublicKey,
                RemoteStatic, tai64n, message[MessageLayout.InitEphemeral..MessageLayout.InitMac1]))
        {
            Clear();
            return false;
        }
        message[0] = MessageLayout.TypeInitiation;
        BinaryPrimitives.WriteUInt32LittleEndian(message[MessageLayout.InitSender..], localIndex);
        LocalIndex = localIndex;
        State = HandshakeState.InitiationCreated;
        return true;
    }

    /// <summary>
    /// First half of consuming an initiation, before the peer is known: decrypts the initiator's static
    /// key and timestamp. The caller looks up the peer by <paramref name="initiatorStatic"/>, checks the
    /// timestamp and rate, then calls <see cref="AcceptInitiation"/> on that peer's handshake.
    /// </summary>
    public static ConsumedInitiation? ReadInitiation(StaticIdentity local, ReadOnlySpan<byte> message)
    {
        if (message.Length != MessageLayout.InitiationSize || message[0] != MessageLayout.TypeInitiation)
        {
            return null;
        }
        var st = new SymmetricState();
        NoiseIKpsk2.Initialize(st, NoiseConstants.Identifier, local.PublicKey);
        var result = new ConsumedInitiation(st);
        if (!NoiseIKpsk2.ReadMessage1(st, local.PrivateKey, message[MessageLayout.InitEphemeral..MessageLayout.InitMac1],
                result.RemoteEphemeral, result.InitiatorStatic, result.Timestamp))
        {
            st.Clear();
            return null;
        }
        result.SenderIndex = BinaryPrimitives.ReadUInt32LittleEndian(message[MessageLayout.InitSender..]);
        return result;
    }

    /// <summary>
    /// Second half: replay and flood checks against this peer's history (whitepaper §5.1: a timestamp must
    /// be greater than every one seen before; wireguard-go also refuses initiations closer than
    /// 1/50 s apart). On success the handshake moves to InitiationConsumed.
    /// </summary>
    public bool AcceptInitiation(ConsumedInitiation init, long nowNs, long minIntervalNs)
    {
        if (init.Timestamp.AsSpan().SequenceCompareTo(LastTimestamp) <= 0)
        {
            return false;
        }
        if (LastInitiationConsumedNs != long.MinValue && nowNs - LastInitiationConsumedNs < minIntervalNs)
        {
            return false;
        }
        _state.CopyFrom(init.State);
        init.RemoteEphemeral.CopyTo(_remoteEphemeral, 0);
        init.Timestamp.CopyTo(LastTimestamp, 0);
        LastInitiationConsumedNs = nowNs;
        RemoteIndex = init.SenderIndex;
        State = HandshakeState.InitiationConsumed;
        init.State.Clear();
        return true;
    }

    /// <summary>Builds the response (92 bytes; macs zero) and derives the responder's keys.</summary>
    public SessionKeys? CreateResponse(uint localIndex, Action<Span<byte>> random, Span<byte> message)
    {
        if (State != HandshakeState.InitiationConsumed)
        {
            return null;
        }
        message[..MessageLayout.ResponseSize].Clear();
        Span<byte> ePub = stackalloc byte[X25519.KeySize];
        X25519.GeneratePrivateKey(_localEphemeralPrivate, random);
        X25519.DerivePublicKey(_localEphemeralPrivate, ePub);
        if (!NoiseIKpsk2.WriteMessage2(_state, _localEphemeralPrivate, ePub, _remoteEphemeral, RemoteStatic,
                PresharedKey, default, message[MessageLayout.RespEphemeral..MessageLayout.RespMac1]))
        {
            Clear();
            return null;
        }
        message[0] = MessageLayout.TypeResponse;
        BinaryPrimitives.WriteUInt32LittleEndian(message[MessageLayout.RespSender..], localIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(message[MessageLayout.RespReceiver..], RemoteIndex);
        LocalIndex = localIndex;
        State = HandshakeState.ResponseCreated;
        return DeriveKeys(isInitiator: false);
    }

    /// <summary>Consumes a response to our initiation and derives the initiator's keys.</summary>
    public SessionKeys? ConsumeResponse(StaticIdentity local, ReadOnlySpan<byte> message)
    {
        if (State != HandshakeState.InitiationCreated || message.Length != MessageLayout.ResponseSize
            || message[0] != MessageLayout.TypeResponse
            || BinaryPrimitives.ReadUInt32LittleEndian(message[MessageLayout.RespReceiver..]) != LocalIndex)
        {
            return null;
        }
        // Work on a copy: a forged response must not destroy the pending handshake state.
        var st = new SymmetricState();
        st.CopyFrom(_state);
        if (!NoiseIKpsk2.ReadMessage2(st, _localEphemeralPrivate, local.PrivateKey, PresharedKey,
                message[MessageLayout.RespEphemeral..MessageLayout.RespMac1], default))
        {
            st.Clear();
            return null;
        }
        _state.CopyFrom(st);
        st.Clear();
        RemoteIndex = BinaryPrimitives.ReadUInt32LittleEndian(message[MessageLayout.RespSender..]);
        State = HandshakeState.ResponseConsumed;
        return DeriveKeys(isInitiator: true);
    }

    private SessionKeys DeriveKeys(bool isInitiator)
    {
        byte[] first = new byte[32];
        byte[] second = new byte[32];
        _state.Split(first, second);
        var keys = new SessionKeys
        {
            SendKey = isInitiator ? first : second,
            ReceiveKey = isInitiator ? second : first,
            LocalIndex = LocalIndex,
            RemoteIndex = RemoteIndex,
            IsInitiator = isInitiator,
        };
        Clear();
        return keys;
    }

    /// <summary>Forgets the in-flight handshake (keeps the timestamp history, which must survive).</summary>
    public void Clear()
    {
        _state.Clear();
        Array.Clear(_localEphemeralPrivate);
        Array.Clear(_remoteEphemeral);
        State = HandshakeState.Zeroed;
    }
}

/// <summary>A decrypted initiation whose sender is not yet matched to a peer.</summary>
public sealed class ConsumedInitiation
{
    internal ConsumedInitiation(SymmetricState state) => State = state;

    internal SymmetricState State { get; }
    public byte[] InitiatorStatic { get; } = new byte[X25519.KeySize];
    public byte[] RemoteEphemeral { get; } = new byte[X25519.KeySize];
    public byte[] Timestamp { get; } = new byte[12];
    public uint SenderIndex { get; internal set; }

    /// <summary>Zeroes the decrypted handshake state (chaining key, hash, remote ephemeral).</summary>
    public void Clear()
    {
        State.Clear();
        Array.Clear(RemoteEphemeral);
        Array.Clear(Timestamp);
    }
}
