using System.Security.Cryptography;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Noise;

/// <summary>mac1/mac2 and cookie replies (whitepaper §5.3, §5.4.4, §5.4.7).</summary>
public class CookieTests
{
    private const long Second = 1_000_000_000;
    private static readonly Action<Span<byte>> Random = RandomNumberGenerator.Fill;
    private static readonly byte[] SourceA = [192, 0, 2, 1, 0xca, 0x6c]; // address + port bytes
    private static readonly byte[] SourceB = [192, 0, 2, 2, 0xca, 0x6c];

    private static byte[] ResponderPublic()
    {
        byte[] priv = new byte[32];
        X25519.GeneratePrivateKey(priv);
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(priv, pub);
        return pub;
    }

    private static byte[] Message(int size = MessageLayout.InitiationSize)
    {
        byte[] msg = new byte[size];
        RandomNumberGenerator.Fill(msg.AsSpan(0, MessageLayout.Mac1Offset(size)));
        msg[0] = size == MessageLayout.InitiationSize ? MessageLayout.TypeInitiation : MessageLayout.TypeResponse;
        return msg;
    }

    [Fact]
    public void Mac1IsKeyedBlake2sOfHashOfLabelAndPublicKey()
    {
        // whitepaper §5.4.4: mac1 = MAC(HASH(LABEL_MAC1 || S_pub_responder), msg_alpha).
        byte[] pub = ResponderPublic();
        byte[] msg = Message();
        new CookieGenerator(pub).AddMacs(msg, 0);
        byte[] key = new byte[32];
        Blake2s.Hash("mac1----"u8, pub, key);
        byte[] expected = new byte[16];
        Blake2s.Mac(key, msg.AsSpan(0, MessageLayout.InitMac1), expected);
        Assert.Equal(expected, msg.AsSpan(MessageLayout.InitMac1, 16).ToArray());
        Assert.True(msg.AsSpan(MessageLayout.InitMac2, 16).IndexOfAnyExcept((byte)0) < 0);
    }

    [Theory]
    [InlineData(MessageLayout.InitiationSize)]
    [InlineData(MessageLayout.ResponseSize)]
    public void Mac1ValidatesAndTamperingIsDetected(int size)
    {
        byte[] pub = ResponderPublic();
        var generator = new CookieGenerator(pub);
        var checker = new CookieChecker(pub);
        byte[] msg = Message(size);
        generator.AddMacs(msg, 0);
        Assert.True(checker.CheckMac1(msg));

        for (int i = 0; i < MessageLayout.Mac2Offset(size); i += 13)
        {
            byte[] tampered = msg.ToArray();
            tampered[i] ^= 0x04;
            Assert.False(checker.CheckMac1(tampered));
        }
        // mac2 is not covered by mac1.
        byte[] mac2Changed = msg.ToArray();
        mac2Changed[^1] ^= 1;
        Assert.True(checker.CheckMac1(mac2Changed));
    }

    [Fact]
    public void Mac1ForAnotherResponderIsRejected()
    {
        byte[] msg = Message();
        new CookieGenerator(ResponderPublic()).AddMacs(msg, 0);
        Assert.False(new CookieChecker(ResponderPublic()).CheckMac1(msg));
    }

    [Fact]
    public void TooShortMessageIsRejected()
    {
        var checker = new CookieChecker(ResponderPublic());
        Assert.False(checker.CheckMac1(new byte[20]));
        Assert.False(checker.CheckMac2(new byte[20], SourceA, 0));
    }

    [Fact]
    public void CookieReplyEnablesMac2ForTheSameSourceOnly()
    {
        byte[] pub = ResponderPublic();
        var generator = new CookieGenerator(pub);
        var checker = new CookieChecker(pub);
        long now = 100 * Second;

        byte[] first = Message();
        generator.AddMacs(first, now);
        Assert.False(checker.CheckMac2(first, SourceA, now)); // no cookie secret yet, mac2 zero

        byte[] reply = new byte[MessageLayout.CookieReplySize];
        checker.CreateReply(first, 0xabcdef01, SourceA, now, Random, reply);
        Assert.Equal(MessageLayout.TypeCookieReply, reply[0]);
        Assert.Equal(0xabcdef01u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(MessageLayout.CookieReceiver)));
        Assert.True(generator.ConsumeReply(reply, now + Second));

        byte[] second = Message();
        generator.AddMacs(second, now + 2 * Second);
        Assert.True(second.AsSpan(MessageLayout.InitMac2, 16).IndexOfAnyExcept((byte)0) >= 0);
        Assert.True(checker.CheckMac1(second));
        Assert.True(checker.CheckMac2(second, SourceA, now + 2 * Second));
        Assert.False(checker.CheckMac2(second, SourceB, now + 2 * Second));

        byte[] tampered = second.ToArray();
        tampered[MessageLayout.InitMac2] ^= 1;
        Assert.False(checker.CheckMac2(tampered, SourceA, now + 2 * Second));
    }

    [Fact]
    public void CookieReplyForADifferentMac1IsRejected()
    {
        byte[] pub = ResponderPublic();
        var generator = new CookieGenerator(pub);
        var checker = new CookieChecker(pub);

        byte[] sent = Message();
        generator.AddMacs(sent, 0);
        // A reply bound to some other message's mac1 (e.g. forged or stale).
        byte[] other = Message();
        new CookieGenerator(pub).AddMacs(other, 0);
        byte[] reply = new byte[MessageLayout.CookieReplySize];
        checker.CreateReply(other, 1, SourceA, 0, Random, reply);
        Assert.False(generator.ConsumeReply(reply, 0));

        // The reply to what was actually sent is accepted, but only once.
        checker.CreateReply(sent, 1, SourceA, 0, Random, reply);
        Assert.True(generator.ConsumeReply(reply, 0));
        Assert.False(generator.ConsumeReply(reply, 0));
    }

    [Fact]
    public void CookieReplyBeforeAnyMessageOrTamperedIsRejected()
    {
        byte[] pub = ResponderPublic();
        var generator = new CookieGenerator(pub);
        var checker = new CookieChecker(pub);
        byte[] msg = Message();
        byte[] reply = new byte[MessageLayout.CookieReplySize];
        new CookieGenerator(pub).AddMacs(msg, 0);
        checker.CreateReply(msg, 1, SourceA, 0, Random, reply);
        Assert.False(generator.ConsumeReply(reply, 0)); // nothing sent yet

        generator.AddMacs(msg, 0); // now the same message (same mac1) is "ours"
        byte[] tampered = reply.ToArray();
        tampered[MessageLayout.CookieEncrypted] ^= 1;
        Assert.False(generator.ConsumeReply(tampered, 0));
        Assert.False(generator.ConsumeReply(reply.AsSpan(0, 63), 0));
        Assert.True(generator.ConsumeReply(reply, 0));
    }

    [Fact]
    public void CookieAndSecretExpire()
    {
        byte[] pub = ResponderPublic();
        var generator = new CookieGenerator(pub);
        var checker = new CookieChecker(pub);
        byte[] first = Message();
        generator.AddMacs(first, 0);
        byte[] reply = new byte[MessageLayout.CookieReplySize];
        checker.CreateReply(first, 1, SourceA, 0, Random, reply);
        Assert.True(generator.ConsumeReply(reply, 0));

        // After 120 s the generator stops sending mac2 (whitepaper §5.4.7, cookies last two minutes).
        byte[] late = Message();
        generator.AddMacs(late, 121 * Second);
        Assert.True(late.AsSpan(MessageLayout.InitMac2, 16).IndexOfAnyExcept((byte)0) < 0);

        // And the checker's secret has rotated out: an old cookie's mac2 no longer verifies.
        byte[] fresh = Message();
        generator.AddMacs(fresh, 10 * Second);
        Assert.True(checker.CheckMac2(fresh, SourceA, 10 * Second));
        Assert.False(checker.CheckMac2(fresh, SourceA, 121 * Second));
    }
}
