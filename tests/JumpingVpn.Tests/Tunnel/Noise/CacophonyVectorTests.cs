using System.Text.Json;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Noise;

/// <summary>
/// The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s entry of the cacophony test vectors (an independent Haskell
/// Noise implementation), stored as TestData/noise-ikpsk2-cacophony.json. It drives our generic
/// IKpsk2 message functions with the vector's fixed keys, prologue, psk and payloads and checks every
/// handshake and transport ciphertext byte for byte.
/// </summary>
public class CacophonyVectorTests
{
    private sealed record Message(byte[] Payload, byte[] Ciphertext);

    private sealed class Vector
    {
        public required byte[] Prologue { get; init; }
        public required byte[] Psk { get; init; }
        public required byte[] InitStatic { get; init; }
        public required byte[] InitEphemeral { get; init; }
        public required byte[] InitRemoteStatic { get; init; }
        public required byte[] RespStatic { get; init; }
        public required byte[] RespEphemeral { get; init; }
        public required List<Message> Messages { get; init; }
    }

    private static Vector Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "TestData", "noise-ikpsk2-cacophony.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement root = doc.RootElement;
        byte[] Hex(string name) => Convert.FromHexString(root.GetProperty(name).GetString()!);
        Assert.Equal("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s", root.GetProperty("name").GetString());
        // Both sides use the same prologue and psk in this vector.
        Assert.Equal(Hex("init_prologue"), Hex("resp_prologue"));
        Assert.Equal(Hex("init_psk"), Hex("resp_psk"));
        var messages = new List<Message>();
        foreach (JsonElement m in root.GetProperty("messages").EnumerateArray())
        {
            messages.Add(new Message(
                Convert.FromHexString(m.GetProperty("payload").GetString()!),
                Convert.FromHexString(m.GetProperty("ciphertext").GetString()!)));
        }
        return new Vector
        {
            Prologue = Hex("init_prologue"),
            Psk = Hex("init_psk"),
            InitStatic = Hex("init_static"),
            InitEphemeral = Hex("init_ephemeral"),
            InitRemoteStatic = Hex("init_remote_static"),
            RespStatic = Hex("resp_static"),
            RespEphemeral = Hex("resp_ephemeral"),
            Messages = messages,
        };
    }

    private static byte[] Public(byte[] priv)
    {
        byte[] pub = new byte[X25519.KeySize];
        X25519.DerivePublicKey(priv, pub);
        return pub;
    }

    [Fact]
    public void ResponderStaticPublicKeyMatchesVector()
    {
        Vector v = Load();
        // init_remote_static is the responder's public key, derived here from the raw (unclamped) private key.
        Assert.Equal(v.InitRemoteStatic, Public(v.RespStatic));
    }

    [Fact]
    public void HandshakeAndTransportMessagesMatchVector()
    {
        Vector v = Load();
        Assert.Equal(6, v.Messages.Count);
        byte[] rs = v.InitRemoteStatic;
        byte[] initStaticPub = Public(v.InitStatic);
        byte[] initEphPub = Public(v.InitEphemeral);
        byte[] respEphPub = Public(v.RespEphemeral);

        var initiator = new SymmetricState();
        var responder = new SymmetricState();
        NoiseIKpsk2.Initialize(initiator, v.Prologue, rs);
        NoiseIKpsk2.Initialize(responder, v.Prologue, rs);

        // -> e, es, s, ss (payload 0)
        Message m0 = v.Messages[0];
        byte[] msg1 = new byte[X25519.KeySize + NoiseIKpsk2.EncryptedStaticSize + m0.Payload.Length + ChaChaPoly.TagSize];
        Assert.True(NoiseIKpsk2.WriteMessage1(initiator, v.InitEphemeral, initEphPub, v.InitStatic, initStaticPub, rs, m0.Payload, msg1));
        Assert.Equal(m0.Ciphertext, msg1);

        byte[] re = new byte[X25519.KeySize];
        byte[] rsSeen = new byte[X25519.KeySize];
        byte[] payload0 = new byte[m0.Payload.Length];
        Assert.True(NoiseIKpsk2.ReadMessage1(responder, v.RespStatic, m0.Ciphertext, re, rsSeen, payload0));
        Assert.Equal(initEphPub, re);
        Assert.Equal(initStaticPub, rsSeen);
        Assert.Equal(m0.Payload, payload0);
        Assert.Equal(initiator.Hash, responder.Hash);

        // <- e, ee, se, psk (payload 1)
        Message m1 = v.Messages[1];
        byte[] msg2 = new byte[X25519.KeySize + m1.Payload.Length + ChaChaPoly.TagSize];
        Assert.True(NoiseIKpsk2.WriteMessage2(responder, v.RespEphemeral, respEphPub, re, rsSeen, v.Psk, m1.Payload, msg2));
        Assert.Equal(m1.Ciphertext, msg2);

        byte[] payload1 = new byte[m1.Payload.Length];
        Assert.True(NoiseIKpsk2.ReadMessage2(initiator, v.InitEphemeral, v.InitStatic, v.Psk, m1.Ciphertext, payload1));
        Assert.Equal(m1.Payload, payload1);
        Assert.Equal(initiator.Hash, responder.Hash);
        Assert.Equal(initiator.ChainingKey, responder.ChainingKey);

        // Split (Noise §5.2): k1 is initiator -> responder, k2 responder -> initiator; the vector's
        // transport messages alternate starting with the initiator, each direction's nonce counting from 0.
        byte[] iK1 = new byte[32], iK2 = new byte[32], rK1 = new byte[32], rK2 = new byte[32];
        initiator.Split(iK1, iK2);
        responder.Split(rK1, rK2);
        Assert.Equal(iK1, rK1);
        Assert.Equal(iK2, rK2);

        ulong initiatorNonce = 0, responderNonce = 0;
        using var send1 = new TransportKey(iK1);
        using var send2 = new TransportKey(iK2);
        for (int i = 2; i < v.Messages.Count; i++)
        {
            Message m = v.Messages[i];
            bool fromInitiator = i % 2 == 0;
            byte[] key = fromInitiator ? iK1 : iK2;
            ulong nonce = fromInitiator ? initiatorNonce++ : responderNonce++;
            byte[] ct = new byte[m.Payload.Length + ChaChaPoly.TagSize];
            ChaChaPoly.Seal(key, nonce, m.Payload, default, ct);
            Assert.Equal(m.Ciphertext, ct);

            byte[] ct2 = new byte[ct.Length];
            (fromInitiator ? send1 : send2).Seal(nonce, m.Payload, ct2);
            Assert.Equal(m.Ciphertext, ct2);

            byte[] pt = new byte[m.Payload.Length];
            Assert.True((fromInitiator ? send1 : send2).Open(nonce, m.Ciphertext, pt));
            Assert.Equal(m.Payload, pt);
        }
        Assert.Equal(2ul, initiatorNonce);
        Assert.Equal(2ul, responderNonce);
    }

    [Fact]
    public void WrongPskFailsToReadMessage2()
    {
        Vector v = Load();
        byte[] rs = v.InitRemoteStatic;
        var initiator = new SymmetricState();
        NoiseIKpsk2.Initialize(initiator, v.Prologue, rs);
        Message m0 = v.Messages[0];
        byte[] msg1 = new byte[m0.Ciphertext.Length];
        Assert.True(NoiseIKpsk2.WriteMessage1(initiator, v.InitEphemeral, Public(v.InitEphemeral), v.InitStatic,
            Public(v.InitStatic), rs, m0.Payload, msg1));
        byte[] wrongPsk = v.Psk.ToArray();
        wrongPsk[0] ^= 1;
        byte[] payload1 = new byte[v.Messages[1].Payload.Length];
        Assert.False(NoiseIKpsk2.ReadMessage2(initiator, v.InitEphemeral, v.InitStatic, wrongPsk, v.Messages[1].Ciphertext, payload1));
    }
}
