using System.Buffers.Binary;
using System.Security.Cryptography;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Noise;

/// <summary>
/// The WireGuard per-peer handshake (whitepaper §5.4.2-§5.4.5) end to end: initiation, the two-step
/// consume (decrypt, then per-peer replay/flood checks), response, key derivation, and rejection of
/// tampering, wrong PSKs, replays and floods.
/// </summary>
public class HandshakeTests
{
    private const long Second = 1_000_000_000;
    private const long MinInterval = Second / 50; // wireguard-go HandshakeInitationRate
    private const uint InitiatorIndex = 0x11223344;
    private const uint ResponderIndex = 0x55667788;

    private static readonly Action<Span<byte>> Random = RandomNumberGenerator.Fill;

    private static StaticIdentity NewIdentity()
    {
        byte[] priv = new byte[X25519.KeySize];
        X25519.GeneratePrivateKey(priv);
        return new StaticIdentity(priv);
    }

    /// <summary>TAI64N (whitepaper §5.1): 8-byte big-endian 2^62 + 10 + seconds, then 4-byte big-endian nanoseconds.</summary>
    private static byte[] Tai64n(long seconds, int nanos = 0)
    {
        byte[] t = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(t, 0x400000000000000aUL + (ulong)seconds);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), (uint)nanos);
        return t;
    }

    /// <summary>Two nodes and each one's handshake object for the other.</summary>
    private sealed class Peers
    {
        public Peers(byte[]? initiatorPsk = null, byte[]? responderPsk = null)
        {
            I = NewIdentity();
            R = NewIdentity();
            IToR = new Handshake(R.PublicKey, initiatorPsk ?? new byte[32]);
            RToI = new Handshake(I.PublicKey, responderPsk ?? new byte[32]);
        }

        public StaticIdentity I { get; }
        public StaticIdentity R { get; }
        public Handshake IToR { get; }
        public Handshake RToI { get; }

        public byte[] Initiate(byte[] timestamp)
        {
            byte[] msg = new byte[MessageLayout.InitiationSize];
            Assert.True(IToR.CreateInitiation(I, InitiatorIndex, timestamp, Random, msg));
            return msg;
        }
    }

    private static (SessionKeys Initiator, SessionKeys Responder) FullHandshake(Peers p)
    {
        byte[] init = p.Initiate(Tai64n(1000));
        Assert.Equal(HandshakeState.InitiationCreated, p.IToR.State);
        Assert.Equal(MessageLayout.TypeInitiation, init[0]);
        Assert.Equal(InitiatorIndex, BinaryPrimitives.ReadUInt32LittleEndian(init.AsSpan(MessageLayout.InitSender)));

        ConsumedInitiation? consumed = Handshake.ReadInitiation(p.R, init);
        Assert.NotNull(consumed);
        Assert.Equal(p.I.PublicKey, consumed.InitiatorStatic);
        Assert.Equal(Tai64n(1000), consumed.Timestamp);
        Assert.Equal(InitiatorIndex, consumed.SenderIndex);
        Assert.True(p.RToI.AcceptInitiation(consumed, 5 * Second, MinInterval));
        Assert.Equal(HandshakeState.InitiationConsumed, p.RToI.State);

        byte[] resp = new byte[MessageLayout.ResponseSize];
        SessionKeys? rKeys = p.RToI.CreateResponse(ResponderIndex, Random, resp);
        Assert.NotNull(rKeys);
        Assert.Equal(MessageLayout.TypeResponse, resp[0]);
        Assert.Equal(ResponderIndex, BinaryPrimitives.ReadUInt32LittleEndian(resp.AsSpan(MessageLayout.RespSender)));
        Assert.Equal(InitiatorIndex, BinaryPrimitives.ReadUInt32LittleEndian(resp.AsSpan(MessageLayout.RespReceiver)));

        SessionKeys? iKeys = p.IToR.ConsumeResponse(p.I, resp);
        Assert.NotNull(iKeys);
        return (iKeys, rKeys);
    }

    private static void AssertKeysMatch(SessionKeys i, SessionKeys r)
    {
        Assert.True(i.IsInitiator);
        Assert.False(r.IsInitiator);
        Assert.Equal(i.SendKey, r.ReceiveKey);
        Assert.Equal(i.ReceiveKey, r.SendKey);
        Assert.NotEqual(i.SendKey, i.ReceiveKey);
        Assert.Equal(InitiatorIndex, i.LocalIndex);
        Assert.Equal(ResponderIndex, i.RemoteIndex);
        Assert.Equal(ResponderIndex, r.LocalIndex);
        Assert.Equal(InitiatorIndex, r.RemoteIndex);

        // And the keys actually carry traffic both ways.
        using var iSend = new TransportKey(i.SendKey);
        using var rRecv = new TransportKey(r.ReceiveKey);
        byte[] ct = new byte[5 + ChaChaPoly.TagSize];
        iSend.Seal(0, "hello"u8, ct);
        byte[] pt = new byte[5];
        Assert.True(rRecv.Open(0, ct, pt));
        Assert.Equal("hello"u8.ToArray(), pt);
    }

    [Fact]
    public void RoundTripWithoutPskDerivesCrosswiseKeys()
    {
        var p = new Peers();
        var (i, r) = FullHandshake(p);
        AssertKeysMatch(i, r);
        // Both sides forget the ephemeral state once keys are derived.
        Assert.Equal(HandshakeState.Zeroed, p.IToR.State);
        Assert.Equal(HandshakeState.Zeroed, p.RToI.State);
    }

    [Fact]
    public void RoundTripWithPskDerivesCrosswiseKeys()
    {
        byte[] psk = new byte[32];
        RandomNumberGenerator.Fill(psk);
        var p = new Peers(psk, psk.ToArray());
        var (i, r) = FullHandshake(p);
        AssertKeysMatch(i, r);
    }

    [Fact]
    public void PskChangesTheKeys()
    {
        // Same static and ephemeral keys with and without a PSK must give different transport keys.
        byte[] iPriv = new byte[32], rPriv = new byte[32];
        X25519.GeneratePrivateKey(iPriv);
        X25519.GeneratePrivateKey(rPriv);
        var iId = new StaticIdentity(iPriv);
        var rId = new StaticIdentity(rPriv);
        byte[] SendKey(byte[] psk)
        {
            int n = 0;
            void Deterministic(Span<byte> s) => s.Fill((byte)(++n));
            var iToR = new Handshake(rId.PublicKey, psk);
            var rToI = new Handshake(iId.PublicKey, psk);
            byte[] init = new byte[MessageLayout.InitiationSize];
            Assert.True(iToR.CreateInitiation(iId, 1, Tai64n(1), Deterministic, init));
            ConsumedInitiation c = Handshake.ReadInitiation(rId, init)!;
            Assert.True(rToI.AcceptInitiation(c, 0, MinInterval));
            byte[] resp = new byte[MessageLayout.ResponseSize];
            Assert.NotNull(rToI.CreateResponse(2, Deterministic, resp));
            return iToR.ConsumeResponse(iId, resp)!.SendKey;
        }
        byte[] psk1 = new byte[32];
        psk1[0] = 1;
        Assert.NotEqual(SendKey(new byte[32]), SendKey(psk1));
        Assert.Equal(SendKey(psk1), SendKey(psk1));
    }

    [Fact]
    public void MismatchedPskFailsConsumeResponse()
    {
        byte[] a = new byte[32], b = new byte[32];
        a[0] = 1;
        b[0] = 2;
        var p = new Peers(a, b);
        byte[] init = p.Initiate(Tai64n(1000));
        ConsumedInitiation? c = Handshake.ReadInitiation(p.R, init);
        Assert.NotNull(c); // the PSK is only mixed in at the response (psk2)
        Assert.True(p.RToI.AcceptInitiation(c, 0, MinInterval));
        byte[] resp = new byte[MessageLayout.ResponseSize];
        Assert.NotNull(p.RToI.CreateResponse(ResponderIndex, Random, resp));
        Assert.Null(p.IToR.ConsumeResponse(p.I, resp));
        Assert.Equal(HandshakeState.InitiationCreated, p.IToR.State);
    }

    [Fact]
    public void NoPskOnOneSideFailsConsumeResponse()
    {
        byte[] psk = new byte[32];
        psk[31] = 0x80;
        var p = new Peers(null, psk);
        byte[] init = p.Initiate(Tai64n(1000));
        ConsumedInitiation c = Handshake.ReadInitiation(p.R, init)!;
        Assert.True(p.RToI.AcceptInitiation(c, 0, MinInterval));
        byte[] resp = new byte[MessageLayout.ResponseSize];
        Assert.NotNull(p.RToI.CreateResponse(ResponderIndex, Random, resp));
        Assert.Null(p.IToR.ConsumeResponse(p.I, resp));
    }

    [Fact]
    public void InitiationForAnotherResponderIsRejected()
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        Assert.Null(Handshake.ReadInitiation(NewIdentity(), init));
    }

    [Fact]
    public void ReplayedInitiationIsRejected()
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        ConsumedInitiation first = Handshake.ReadInitiation(p.R, init)!;
        Assert.True(p.RToI.AcceptInitiation(first, 10 * Second, MinInterval));

        // The very same bytes, much later (so the flood limit is not what rejects it).
        ConsumedInitiation replay = Handshake.ReadInitiation(p.R, init)!;
        Assert.NotNull(replay);
        Assert.False(p.RToI.AcceptInitiation(replay, 20 * Second, MinInterval));
    }

    [Fact]
    public void InitiationWithSameTimestampIsRejected()
    {
        var p = new Peers();
        ConsumedInitiation first = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1000, 5)))!;
        Assert.True(p.RToI.AcceptInitiation(first, 10 * Second, MinInterval));
        // A fresh initiation (new ephemeral) carrying an equal timestamp.
        ConsumedInitiation second = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1000, 5)))!;
        Assert.False(p.RToI.AcceptInitiation(second, 20 * Second, MinInterval));
    }

    [Fact]
    public void OlderTimestampIsRejectedAndNewerAccepted()
    {
        var p = new Peers();
        ConsumedInitiation first = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1000)))!;
        Assert.True(p.RToI.AcceptInitiation(first, 10 * Second, MinInterval));
        ConsumedInitiation older = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(999, 999_999_999)))!;
        Assert.False(p.RToI.AcceptInitiation(older, 20 * Second, MinInterval));
        Assert.Equal(Tai64n(1000), p.RToI.LastTimestamp);
        ConsumedInitiation newer = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1000, 1)))!;
        Assert.True(p.RToI.AcceptInitiation(newer, 30 * Second, MinInterval));
        Assert.Equal(Tai64n(1000, 1), p.RToI.LastTimestamp);
    }

    [Fact]
    public void InitiationCloserThanMinIntervalIsRejected()
    {
        var p = new Peers();
        long t0 = 10 * Second;
        ConsumedInitiation first = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1000)))!;
        Assert.True(p.RToI.AcceptInitiation(first, t0, MinInterval));
        ConsumedInitiation tooSoon = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1001)))!;
        Assert.False(p.RToI.AcceptInitiation(tooSoon, t0 + MinInterval - 1, MinInterval));
        // A rejected flood attempt does not consume the timestamp: the same initiation is fine later.
        Assert.True(p.RToI.AcceptInitiation(tooSoon, t0 + MinInterval, MinInterval));
    }

    [Fact]
    public void FirstInitiationIsAcceptedAtAnyTime()
    {
        // No earlier initiation: a clock reading near long.MinValue/0 must not trip the flood check.
        var p = new Peers();
        ConsumedInitiation c = Handshake.ReadInitiation(p.R, p.Initiate(Tai64n(1)))!;
        Assert.True(p.RToI.AcceptInitiation(c, 0, MinInterval));
    }

    public static TheoryData<int> InitiationEncryptedBytes()
    {
        var data = new TheoryData<int>();
        // ephemeral (8..40), encrypted static + tag (40..88), encrypted timestamp + tag (88..116)
        foreach (int i in new[] { 8, 39, 40, 71, 72, 87, 88, 99, 100, 115 })
        {
            data.Add(i);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InitiationEncryptedBytes))]
    public void TamperedInitiationIsRejected(int index)
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        init[index] ^= 0x01;
        Assert.Null(Handshake.ReadInitiation(p.R, init));
    }

    [Fact]
    public void MalformedInitiationIsRejected()
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        Assert.Null(Handshake.ReadInitiation(p.R, init.AsSpan(0, 147)));
        byte[] wrongType = init.ToArray();
        wrongType[0] = MessageLayout.TypeResponse;
        Assert.Null(Handshake.ReadInitiation(p.R, wrongType));
    }

    [Theory]
    [InlineData(12)] // ephemeral
    [InlineData(43)]
    [InlineData(44)] // encrypted empty payload (just the tag)
    [InlineData(59)]
    public void TamperedResponseIsRejectedWithoutLosingTheHandshake(int index)
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        ConsumedInitiation c = Handshake.ReadInitiation(p.R, init)!;
        Assert.True(p.RToI.AcceptInitiation(c, 0, MinInterval));
        byte[] resp = new byte[MessageLayout.ResponseSize];
        SessionKeys rKeys = p.RToI.CreateResponse(ResponderIndex, Random, resp)!;

        byte[] forged = resp.ToArray();
        forged[index] ^= 0x01;
        Assert.Null(p.IToR.ConsumeResponse(p.I, forged));
        Assert.Equal(HandshakeState.InitiationCreated, p.IToR.State);

        // The genuine response still completes the handshake.
        SessionKeys iKeys = p.IToR.ConsumeResponse(p.I, resp)!;
        Assert.NotNull(iKeys);
        AssertKeysMatch(iKeys, rKeys);
    }

    [Fact]
    public void ResponseToAnotherIndexOrOfWrongShapeIsRejected()
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        ConsumedInitiation c = Handshake.ReadInitiation(p.R, init)!;
        Assert.True(p.RToI.AcceptInitiation(c, 0, MinInterval));
        byte[] resp = new byte[MessageLayout.ResponseSize];
        Assert.NotNull(p.RToI.CreateResponse(ResponderIndex, Random, resp));

        byte[] wrongReceiver = resp.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(wrongReceiver.AsSpan(MessageLayout.RespReceiver), InitiatorIndex + 1);
        Assert.Null(p.IToR.ConsumeResponse(p.I, wrongReceiver));
        Assert.Null(p.IToR.ConsumeResponse(p.I, resp.AsSpan(0, 91)));
        byte[] wrongType = resp.ToArray();
        wrongType[0] = MessageLayout.TypeInitiation;
        Assert.Null(p.IToR.ConsumeResponse(p.I, wrongType));
        Assert.NotNull(p.IToR.ConsumeResponse(p.I, resp));
    }

    [Fact]
    public void ResponseIsOnlyConsumedOnce()
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        ConsumedInitiation c = Handshake.ReadInitiation(p.R, init)!;
        Assert.True(p.RToI.AcceptInitiation(c, 0, MinInterval));
        byte[] resp = new byte[MessageLayout.ResponseSize];
        Assert.NotNull(p.RToI.CreateResponse(ResponderIndex, Random, resp));
        Assert.NotNull(p.IToR.ConsumeResponse(p.I, resp));
        Assert.Null(p.IToR.ConsumeResponse(p.I, resp));
    }

    [Fact]
    public void CreateResponseRequiresAConsumedInitiation()
    {
        var p = new Peers();
        byte[] resp = new byte[MessageLayout.ResponseSize];
        Assert.Null(p.RToI.CreateResponse(ResponderIndex, Random, resp));
    }

    [Fact]
    public void InitiationToLowOrderPeerKeyFails()
    {
        // A peer configured with an all-zero public key: es would be all zero (whitepaper §5.4.2).
        StaticIdentity i = NewIdentity();
        var h = new Handshake(new byte[32], new byte[32]);
        byte[] msg = new byte[MessageLayout.InitiationSize];
        Assert.False(h.CreateInitiation(i, 1, Tai64n(1), Random, msg));
        Assert.Equal(HandshakeState.Zeroed, h.State);
    }

    [Fact]
    public void MacFieldsAreLeftZero()
    {
        var p = new Peers();
        byte[] init = p.Initiate(Tai64n(1000));
        Assert.True(init.AsSpan(MessageLayout.InitMac1, 32).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(init.AsSpan(1, 3).IndexOfAnyExcept((byte)0) < 0); // reserved
    }
}
