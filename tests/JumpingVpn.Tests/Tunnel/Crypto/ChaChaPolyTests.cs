using JumpingVpn.Tunnel.Crypto;
using NSec.Cryptography;
using static JumpingVpn.Tests.Tunnel.Crypto.Rfc8439Vectors;

namespace JumpingVpn.Tests.Tunnel.Crypto;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) known answers, through
/// our WireGuard-layout wrappers wherever a published nonce fits that layout, and through the very
/// algorithm object the wrappers use (<see cref="ChaChaPoly.Aead"/>) where it does not.
/// </summary>
public class ChaChaPolyTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    [Fact]
    public void PrimitiveMatchesRfc8439Section282()
    {
        // The nonce 07000000 40..47 has a non-zero 32-bit prefix, which WireGuard's layout (4 zero bytes +
        // u64 counter) cannot express, so this pins the algorithm our wrapper binds to.
        byte[] nonce = LadiesNonce;
        byte[] expected = LadiesSealed;
        using Key key = Key.Import(ChaChaPoly.Aead, LadiesKey, KeyBlobFormat.RawSymmetricKey);
        byte[] sealedBox = new byte[LadiesPlaintext.Length + ChaChaPoly.TagSize];
        ChaChaPoly.Aead.Encrypt(key, nonce, LadiesAad, LadiesPlaintext, sealedBox);
        Assert.Equal(expected, sealedBox);
        byte[] opened = new byte[LadiesPlaintext.Length];
        Assert.True(ChaChaPoly.Aead.Decrypt(key, nonce, LadiesAad, sealedBox, opened));
        Assert.Equal(LadiesPlaintext, opened);
    }

    // RFC 8439 Appendix A.5: nonce 00000000 0102030405060708 is exactly WireGuard's layout with
    // counter = 0x0807060504030201 (little-endian), so our Seal/Open can be checked byte for byte.
    private const ulong A5Counter = 0x0807060504030201;

    [Fact]
    public void WriteNonceIsFourZeroBytesThenLittleEndianCounter()
    {
        byte[] nonce = new byte[ChaChaPoly.NonceSize];
        nonce.AsSpan().Fill(0xff);
        ChaChaPoly.WriteNonce(A5Counter, nonce);
        Assert.Equal(H("000000000102030405060708"), nonce);
    }

    [Fact]
    public void SealMatchesRfc8439AppendixA5()
    {
        byte[] sealedBox = new byte[A5Plaintext.Length + ChaChaPoly.TagSize];
        ChaChaPoly.Seal(A5Key, A5Counter, A5Plaintext, A5Aad, sealedBox);
        Assert.Equal(A5Sealed, sealedBox);
    }

    [Fact]
    public void OpenMatchesRfc8439AppendixA5()
    {
        byte[] opened = new byte[A5Plaintext.Length];
        Assert.True(ChaChaPoly.Open(A5Key, A5Counter, A5Sealed, A5Aad, opened));
        Assert.Equal(A5Plaintext, opened);
    }

    [Theory]
    [InlineData(0)] // first ciphertext byte
    [InlineData(264)] // last ciphertext byte
    [InlineData(265)] // first tag byte
    [InlineData(280)] // last tag byte
    public void OpenReturnsFalseOnATamperedByteWithoutThrowing(int index)
    {
        byte[] tampered = A5Sealed.ToArray();
        tampered[index] ^= 0x01;
        byte[] opened = new byte[A5Plaintext.Length];
        Assert.False(ChaChaPoly.Open(A5Key, A5Counter, tampered, A5Aad, opened));
    }

    [Fact]
    public void OpenReturnsFalseForCiphertextShorterThanTheTag()
    {
        // A truncated packet is an expected event on the receive path: false, not an exception.
        Assert.False(ChaChaPoly.Open(A5Key, A5Counter, A5Sealed.AsSpan(0, ChaChaPoly.TagSize - 1), A5Aad, Span<byte>.Empty));
        using var tk = new TransportKey(A5Key);
        Assert.False(tk.Open(0, A5Sealed.AsSpan(0, ChaChaPoly.TagSize - 1), Span<byte>.Empty));
    }

    [Fact]
    public void OpenReturnsFalseForWrongCounterOrAad()
    {
        byte[] opened = new byte[A5Plaintext.Length];
        Assert.False(ChaChaPoly.Open(A5Key, A5Counter + 1, A5Sealed, A5Aad, opened));
        Assert.False(ChaChaPoly.Open(A5Key, A5Counter, A5Sealed, default, opened));
    }

    [Fact]
    public void SealAndOpenRoundTripInWireGuardLayout()
    {
        byte[] key = H("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        byte[] plaintext = "a transport packet"u8.ToArray();
        foreach (ulong counter in new ulong[] { 0, 1, 0xffffffff, ulong.MaxValue - 1 })
        {
            byte[] sealedBox = new byte[plaintext.Length + ChaChaPoly.TagSize];
            ChaChaPoly.Seal(key, counter, plaintext, default, sealedBox);
            byte[] opened = new byte[plaintext.Length];
            Assert.True(ChaChaPoly.Open(key, counter, sealedBox, default, opened));
            Assert.Equal(plaintext, opened);

            // TransportKey is the same construction with empty associated data.
            using var tk = new TransportKey(key);
            byte[] viaTransport = new byte[sealedBox.Length];
            tk.Seal(counter, plaintext, viaTransport);
            Assert.Equal(sealedBox, viaTransport);
            byte[] opened2 = new byte[plaintext.Length];
            Assert.True(tk.Open(counter, viaTransport, opened2));
            Assert.Equal(plaintext, opened2);
        }
    }

    [Fact]
    public void TransportKeySealsInPlaceAndRejectsTampering()
    {
        byte[] key = A5Key;
        using var tk = new TransportKey(key);
        byte[] buffer = new byte[100 + ChaChaPoly.TagSize];
        for (int i = 0; i < 100; i++)
        {
            buffer[i] = (byte)i;
        }
        byte[] plaintext = buffer.AsSpan(0, 100).ToArray();
        tk.Seal(7, buffer.AsSpan(0, 100), buffer);
        byte[] expected = new byte[buffer.Length];
        ChaChaPoly.Seal(key, 7, plaintext, default, expected);
        Assert.Equal(expected, buffer);

        byte[] tampered = buffer.ToArray();
        tampered[^1] ^= 0x80;
        Assert.False(tk.Open(7, tampered, new byte[100]));
        Assert.False(tk.Open(8, buffer, new byte[100]));
        Assert.True(tk.Open(7, buffer, buffer.AsSpan(0, 100)));
        Assert.Equal(plaintext, buffer.AsSpan(0, 100).ToArray());
    }

    // C2SP/wycheproof testvectors_v1/chacha20_poly1305_test.json: tcId, key, iv, aad, msg, ct, tag, valid.
    public static TheoryData<int, string, string, string, string, string, string, bool> Wycheproof => new()
    {
        { 2, "80ba3192c803ce965ea371d5ff073cf0f43b6a2ab576b208426e11409c09b9b0", "4da5bf8dfd5852c1ea12379d", "", "", "", "76acb342cf3166a5b63c0c0ea1383c8d", true },
        { 3, "7a4cd759172e02eb204db2c3f5c746227df584fc1345196391dbb9577a250742", "a92ef0ac991dd516a3c6f689", "bd506764f2d2c410", "", "", "906fa6284b52f87b7359cbaa7563c709", true },
        { 5, "46f0254965f769d52bdb4a70b443199f8ef207520d1220c55e4b70f0fda620ee", "ab0dca716ee051d2782f4403", "91ca6c592cbcca53", "51", "c4", "168310ca45b1f7c66cad4e99e43f72b9", true },
        { 17, "e3c09e7fab1aefb516da6a33022a1dd4eb272c80d540c5da52a730f34d840d7f", "58389375c69ee398de948396", "84e46be8c0919053", "4ee5cda20d4290", "4bd47212941ce3", "185f1408ee7fbf18f5abad6e2253a1ba", true },
        // tcIds 174, 184, 185: ModifiedTag. The comment of each names the correct tag 29914007a6119dd3f109bba21ce9a7d6.
        { 174, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102", "000102030405060708090a0b0c0d0e0f", "d03bcb3ca52d48d1d203b1e7b1a5995a", "29914007a6119dd3f009bba21ce9a7d6", false },
        { 184, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102", "000102030405060708090a0b0c0d0e0f", "d03bcb3ca52d48d1d203b1e7b1a5995a", "00000000000000000000000000000000", false },
        { 185, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102", "000102030405060708090a0b0c0d0e0f", "d03bcb3ca52d48d1d203b1e7b1a5995a", "ffffffffffffffffffffffffffffffff", false },
        { 186, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "d03bcb3ca52d48d1d203b1e7b1a5995af1a0466a61bb386a2e12d189a2c4ea15e9", "67405a16e8b44eba92aa47f5cea52b7a", false },
        // The corrected tags quoted by those comments: the same inputs must verify.
        { 174_000, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102", "000102030405060708090a0b0c0d0e0f", "d03bcb3ca52d48d1d203b1e7b1a5995a", "29914007a6119dd3f109bba21ce9a7d6", true },
        { 186_000, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", "000102030405060708090a0b", "000102", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "d03bcb3ca52d48d1d203b1e7b1a5995af1a0466a61bb386a2e12d189a2c4ea15e9", "66405a16e8b44eba92aa47f5cea52b7a", true },
    };

    [Theory]
    [MemberData(nameof(Wycheproof))]
    public void PrimitiveMatchesWycheproof(int tcId, string key, string iv, string aad, string msg, string ct, string tag, bool valid)
    {
        _ = tcId;
        using Key k = Key.Import(ChaChaPoly.Aead, H(key), KeyBlobFormat.RawSymmetricKey);
        byte[] sealedBox = Concat(H(ct), H(tag));
        byte[] opened = new byte[H(msg).Length];
        Assert.Equal(valid, ChaChaPoly.Aead.Decrypt(k, H(iv), H(aad), sealedBox, opened));
        if (valid)
        {
            Assert.Equal(H(msg), opened);
            byte[] resealed = new byte[sealedBox.Length];
            ChaChaPoly.Aead.Encrypt(k, H(iv), H(aad), H(msg), resealed);
            Assert.Equal(sealedBox, resealed);
        }
    }

    // draft-irtf-cfrg-xchacha-03 Appendix A.3.1: AEAD_XChaCha20_Poly1305.
    private static readonly byte[] XNonce = H("404142434445464748494a4b4c4d4e4f5051525354555657");
    private static readonly byte[] XSealedExpected = H(
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" +
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" +
        "21f9664c97637da9768812f615c68b13b52e" +
        "c0875924c1c7987947deafd8780acf49");

    [Fact]
    public void XSealMatchesXChaChaDraftA31()
    {
        byte[] sealedBox = new byte[LadiesPlaintext.Length + ChaChaPoly.TagSize];
        ChaChaPoly.XSeal(LadiesKey, XNonce, LadiesPlaintext, LadiesAad, sealedBox);
        Assert.Equal(XSealedExpected, sealedBox);
    }

    [Fact]
    public void XOpenMatchesXChaChaDraftA31AndRejectsTampering()
    {
        byte[] opened = new byte[LadiesPlaintext.Length];
        Assert.True(ChaChaPoly.XOpen(LadiesKey, XNonce, XSealedExpected, LadiesAad, opened));
        Assert.Equal(LadiesPlaintext, opened);

        byte[] tampered = XSealedExpected.ToArray();
        tampered[^1] ^= 0x01;
        Assert.False(ChaChaPoly.XOpen(LadiesKey, XNonce, tampered, LadiesAad, opened));
        byte[] otherNonce = XNonce.ToArray();
        otherNonce[23] ^= 0x01;
        Assert.False(ChaChaPoly.XOpen(LadiesKey, otherNonce, XSealedExpected, LadiesAad, opened));
        Assert.False(ChaChaPoly.XOpen(LadiesKey, XNonce, XSealedExpected, default, opened));
    }
}
