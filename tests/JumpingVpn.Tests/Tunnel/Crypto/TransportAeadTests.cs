using System.Security.Cryptography;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Tunnel.Crypto;

/// <summary>
/// Both transport AEAD implementations (libsodium and OpenSSL's EVP, docs/performance.md "AEAD") against
/// RFC 8439's published examples, against each other on random packets, on tampered input (false, never an
/// exception), with keys changing on one thread (the OpenSSL context re-keys) and on several threads at once.
/// </summary>
public class TransportAeadTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    public static TheoryData<AeadImplementation> Implementations => new() { AeadImplementation.Sodium, AeadImplementation.OpenSsl };

    private static void Seal(AeadImplementation impl, byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        if (impl == AeadImplementation.OpenSsl)
        {
            Assert.True(OpenSslAead.Encrypt(key, nonce, ad, plaintext, ciphertext));
        }
        else
        {
            SodiumAead.EnsureInitialized();
            SodiumAead.Encrypt(key, nonce, ad, plaintext, ciphertext);
        }
    }

    private static bool Open(AeadImplementation impl, byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        if (impl == AeadImplementation.OpenSsl)
        {
            return OpenSslAead.Decrypt(key, nonce, ad, ciphertext, plaintext);
        }
        SodiumAead.EnsureInitialized();
        return SodiumAead.Decrypt(key, nonce, ad, ciphertext, plaintext);
    }

    // RFC 8439 §2.8.2.
    private static readonly byte[] LadiesKey = H("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    private static readonly byte[] LadiesNonce = H("070000004041424344454647");
    private static readonly byte[] LadiesAad = H("50515253c0c1c2c3c4c5c6c7");
    private static readonly byte[] LadiesPlaintext =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8.ToArray();
    private static readonly byte[] LadiesSealed = H(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
        "3ff4def08e4b7a9de576d26586cec64b6116" +
        "1ae10b594f09e26a7e902ecbd0600691");

    // RFC 8439 Appendix A.5 (its nonce is WireGuard's layout: four zero bytes and a little-endian counter).
    private static readonly byte[] A5Key = H("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
    private static readonly byte[] A5Nonce = H("000000000102030405060708");
    private static readonly byte[] A5Aad = H("f33388860000000000004e91");
    private static readonly byte[] A5Plaintext = H(
        "496e7465726e65742d4472616674732061726520647261667420646f63756d65" +
        "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d" +
        "6f6e74687320616e64206d617920626520757064617465642c207265706c6163" +
        "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65" +
        "6e747320617420616e792074696d652e20497420697320696e617070726f7072" +
        "6961746520746f2075736520496e7465726e65742d4472616674732061732072" +
        "65666572656e6365206d6174657269616c206f7220746f206369746520746865" +
        "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67" +
        "726573732e2fe2809d");
    private static readonly byte[] A5Sealed = H(
        "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2" +
        "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf" +
        "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855" +
        "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4" +
        "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e" +
        "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a" +
        "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10" +
        "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29" +
        "a6ad5cb4022b02709b" +
        "eead9d67890cbb22392336fea1851f38");

    [Fact]
    public void OpenSslIsUsableOnThisMachine()
    {
        // Debian ships libcrypto.so.3 (libssl3) everywhere jvpn runs: a missing one here is a broken setup.
        Assert.Null(AeadBackend.ProbeOpenSsl());
        if (Environment.GetEnvironmentVariable(AeadBackend.Variable) is null)
        {
            Assert.Equal(AeadImplementation.OpenSsl, AeadBackend.Selected);
            Assert.StartsWith("OpenSSL 3", AeadBackend.Description, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void SealAndOpenMatchRfc8439Section282(AeadImplementation impl)
    {
        byte[] sealedBox = new byte[LadiesSealed.Length];
        Seal(impl, LadiesKey, LadiesNonce, LadiesAad, LadiesPlaintext, sealedBox);
        Assert.Equal(LadiesSealed, sealedBox);
        byte[] opened = new byte[LadiesPlaintext.Length];
        Assert.True(Open(impl, LadiesKey, LadiesNonce, LadiesAad, LadiesSealed, opened));
        Assert.Equal(LadiesPlaintext, opened);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void SealAndOpenMatchRfc8439AppendixA5(AeadImplementation impl)
    {
        byte[] sealedBox = new byte[A5Sealed.Length];
        Seal(impl, A5Key, A5Nonce, A5Aad, A5Plaintext, sealedBox);
        Assert.Equal(A5Sealed, sealedBox);
        byte[] opened = new byte[A5Plaintext.Length];
        Assert.True(Open(impl, A5Key, A5Nonce, A5Aad, A5Sealed, opened));
        Assert.Equal(A5Plaintext, opened);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void ForgedOrTruncatedInputIsFalseNotAnException(AeadImplementation impl)
    {
        byte[] opened = new byte[A5Plaintext.Length];
        foreach (int index in new[] { 0, 264, 265, 280 })
        {
            byte[] tampered = A5Sealed.ToArray();
            tampered[index] ^= 0x01;
            Assert.False(Open(impl, A5Key, A5Nonce, A5Aad, tampered, opened));
        }
        byte[] otherNonce = A5Nonce.ToArray();
        otherNonce[11] ^= 1;
        Assert.False(Open(impl, A5Key, otherNonce, A5Aad, A5Sealed, opened));
        Assert.False(Open(impl, A5Key, A5Nonce, default, A5Sealed, opened));
        Assert.False(Open(impl, A5Key, A5Nonce, A5Aad, A5Sealed.AsSpan(0, 15), Span<byte>.Empty));
        Assert.False(Open(impl, A5Key, A5Nonce, A5Aad, A5Sealed, opened.AsSpan(0, 10)));
        // A forged packet leaves the thread's context usable: the genuine one still opens right after.
        Assert.True(Open(impl, A5Key, A5Nonce, A5Aad, A5Sealed, opened));
        Assert.Equal(A5Plaintext, opened);
    }

    [Fact]
    public void BothImplementationsAgreeOnRandomPacketsInPlace()
    {
        var rnd = new Random(8439);
        foreach (int size in new[] { 0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1280, 1300, 1420, 1500, 9000, 65535 })
        {
            // A fresh array per key: OpenSslAead recognises a key by its array (immutable while in use, as
            // TransportKey's is), so refilling one array in place would be a different contract.
            byte[] key = new byte[32];
            rnd.NextBytes(key);
            byte[] nonce = new byte[12];
            rnd.NextBytes(nonce.AsSpan(4));
            byte[] plaintext = new byte[size];
            rnd.NextBytes(plaintext);

            byte[] viaSodium = new byte[size + 16];
            plaintext.CopyTo(viaSodium, 0);
            Seal(AeadImplementation.Sodium, key, nonce, default, viaSodium.AsSpan(0, size), viaSodium);
            byte[] viaOpenSsl = new byte[size + 16];
            plaintext.CopyTo(viaOpenSsl, 0);
            Seal(AeadImplementation.OpenSsl, key, nonce, default, viaOpenSsl.AsSpan(0, size), viaOpenSsl);
            Assert.Equal(viaSodium, viaOpenSsl);

            // Each opens the other's output in place.
            Assert.True(Open(AeadImplementation.OpenSsl, key, nonce, default, viaSodium, viaSodium.AsSpan(0, size)));
            Assert.Equal(plaintext, viaSodium.AsSpan(0, size).ToArray());
            Assert.True(Open(AeadImplementation.Sodium, key, nonce, default, viaOpenSsl, viaOpenSsl.AsSpan(0, size)));
            Assert.Equal(plaintext, viaOpenSsl.AsSpan(0, size).ToArray());
        }
    }

    [Fact]
    public void OpenSslReKeysWhenTheKeyArrayChangesOnTheSameThread()
    {
        // The thread's context skips re-keying while the same key array comes back; alternating keys,
        // and a new array holding different bytes, must each produce that key's output.
        byte[] k1 = RandomNumberGenerator.GetBytes(32);
        byte[] k2 = RandomNumberGenerator.GetBytes(32);
        byte[] nonce = new byte[12];
        byte[] plaintext = RandomNumberGenerator.GetBytes(200);
        byte[] expected1 = new byte[216];
        byte[] expected2 = new byte[216];
        Seal(AeadImplementation.Sodium, k1, nonce, default, plaintext, expected1);
        Seal(AeadImplementation.Sodium, k2, nonce, default, plaintext, expected2);
        for (int i = 0; i < 4; i++)
        {
            byte[] out1 = new byte[216];
            byte[] out2 = new byte[216];
            Seal(AeadImplementation.OpenSsl, k1, nonce, default, plaintext, out1);
            Seal(AeadImplementation.OpenSsl, k2, nonce, default, plaintext, out2);
            Assert.Equal(expected1, out1);
            Assert.Equal(expected2, out2);
            byte[] back = new byte[200];
            Assert.True(Open(AeadImplementation.OpenSsl, k1, nonce, default, expected1, back));
            Assert.False(Open(AeadImplementation.OpenSsl, k1, nonce, default, expected2, back));
            Assert.True(Open(AeadImplementation.OpenSsl, k2, nonce, default, expected2, back));
            Assert.Equal(plaintext, back);
        }
    }

    [Fact]
    public void OpenSslContextsArePerThread()
    {
        // Four threads, each with its own key, sealing and opening concurrently: per-thread contexts mean
        // no thread ever sees another's key or a half-set nonce.
        const int Threads = 4;
        const int Rounds = 2000;
        int failures = 0;
        var workers = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                byte[] key = RandomNumberGenerator.GetBytes(32);
                byte[] nonce = new byte[12];
                byte[] plaintext = RandomNumberGenerator.GetBytes(1420);
                byte[] box = new byte[1436];
                byte[] back = new byte[1420];
                for (int i = 0; i < Rounds; i++)
                {
                    nonce[4] = (byte)i;
                    nonce[5] = (byte)(i >> 8);
                    OpenSslAead.Encrypt(key, nonce, default, plaintext, box);
                    if (!SodiumAead.Decrypt(key, nonce, box, back) || !OpenSslAead.Decrypt(key, nonce, default, box, back)
                        || !back.AsSpan().SequenceEqual(plaintext))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            });
        }
        SodiumAead.EnsureInitialized();
        foreach (Thread w in workers)
        {
            w.Start();
        }
        foreach (Thread w in workers)
        {
            w.Join();
        }
        Assert.Equal(0, failures);
    }

    [Fact]
    public void TransportKeyUsesTheSelectedImplementationAndAllocatesNothing()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        using var tk = new TransportKey(key);
        byte[] buffer = new byte[1436];
        byte[] plaintext = RandomNumberGenerator.GetBytes(1420);
        plaintext.CopyTo(buffer, 0);
        byte[] expected = new byte[1436];
        byte[] nonce = new byte[12];
        ChaChaPoly.WriteNonce(42, nonce);
        Seal(AeadImplementation.Sodium, key, nonce, default, plaintext, expected);

        tk.Seal(42, buffer.AsSpan(0, 1420), buffer); // warm-up (JIT, the thread's contexts)
        Assert.Equal(expected, buffer);
        Assert.True(tk.Open(42, buffer, buffer.AsSpan(0, 1420)));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            tk.Seal(42, buffer.AsSpan(0, 1420), buffer);
            _ = tk.Open(42, buffer, buffer.AsSpan(0, 1420));
            buffer[0] ^= 1; // forged: the tag no longer verifies
            _ = tk.Open(42, buffer, buffer.AsSpan(0, 1420));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        tk.Dispose();
        Assert.True(tk.IsZeroed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(AeadBackend.OpenSslMinimumLength - 1)]
    [InlineData(AeadBackend.OpenSslMinimumLength)]
    [InlineData(1420)]
    public void TransportKeyOutputIsTheSameOnBothSidesOfTheSizeSplit(int size)
    {
        // Short packets go to libsodium, long ones to OpenSSL: the wire must not tell them apart.
        byte[] key = RandomNumberGenerator.GetBytes(32);
        using var tk = new TransportKey(key);
        byte[] plaintext = RandomNumberGenerator.GetBytes(size);
        byte[] nonce = new byte[12];
        ChaChaPoly.WriteNonce(7, nonce);
        byte[] expected = new byte[size + 16];
        Seal(AeadImplementation.OpenSsl, key, nonce, default, plaintext, expected);
        byte[] viaKey = new byte[size + 16];
        tk.Seal(7, plaintext, viaKey);
        Assert.Equal(expected, viaKey);
        byte[] back = new byte[size];
        Assert.True(tk.Open(7, viaKey, back));
        Assert.Equal(plaintext, back);
        viaKey[^1] ^= 1;
        Assert.False(tk.Open(7, viaKey, back));
    }
}
