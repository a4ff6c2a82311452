using System.Security.Cryptography;
using JumpingVpn.Tunnel.Crypto;
using static JumpingVpn.Tests.Tunnel.Crypto.Rfc8439Vectors;

namespace JumpingVpn.Tests.Tunnel.Crypto;

/// <summary>
/// Both transport AEAD implementations (libsodium and OpenSSL's EVP, docs/performance.md "AEAD") against
/// RFC 8439's published examples, against each other on random packets, on tampered input (false, never an
/// exception), with keys changing on one thread (the OpenSSL context re-keys) and on several threads at once.
/// </summary>
public class TransportAeadTests
{
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
