using System.Buffers.Binary;
using NSec.Cryptography;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce layout: 32 zero bits then the 64-bit counter,
/// little-endian (whitepaper §5.4). Failures return false, never throw (a bad tag is an expected event
/// on the receive path). Handshake-time helpers import a throwaway key; the transport path uses
/// <see cref="TransportKey"/>.
/// </summary>
public static class ChaChaPoly
{
    public const int TagSize = 16;
    public const int NonceSize = 12;
    internal static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;
    internal static readonly AeadAlgorithm XAead = AeadAlgorithm.XChaCha20Poly1305;

    public static void WriteNonce(ulong counter, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    public static void Seal(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> ad, Span<byte> ciphertext)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteNonce(counter, nonce);
        using Key k = Key.Import(Aead, key, KeyBlobFormat.RawSymmetricKey);
        Aead.Encrypt(k, nonce, ad, plaintext, ciphertext);
    }

    public static bool Open(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> ad, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteNonce(counter, nonce);
        using Key k = Key.Import(Aead, key, KeyBlobFormat.RawSymmetricKey);
        return Aead.Decrypt(k, nonce, ad, ciphertext, plaintext);
    }

    /// <summary>XChaCha20-Poly1305 with a 24-byte nonce: only the cookie reply uses it (whitepaper §5.4.7).</summary>
    public static void XSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce24, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> ad, Span<byte> ciphertext)
    {
        using Key k = Key.Import(XAead, key, KeyBlobFormat.RawSymmetricKey);
        XAead.Encrypt(k, nonce24, ad, plaintext, ciphertext);
    }

    public static bool XOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce24, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> ad, Span<byte> plaintext)
    {
        using Key k = Key.Import(XAead, key, KeyBlobFormat.RawSymmetricKey);
        return XAead.Decrypt(k, nonce24, ad, ciphertext, plaintext);
    }
}

/// <summary>
/// One direction's transport key (whitepaper §5.4.6). Per-packet sealing and opening allocate nothing.
/// The 32 key bytes live in an ordinary managed array and go straight to the ChaCha20-Poly1305 that
/// <see cref="AeadBackend"/> chose at start-up: OpenSSL's (a per-thread EVP context, docs/performance.md
/// "AEAD") for packets of <see cref="AeadBackend.OpenSslMinimumLength"/> bytes and more, libsodium's (the
/// same function NSec calls, docs/data-plane.md §4) for shorter ones and when OpenSSL is unusable. Both
/// compute the same RFC 8439 construction, so the split is invisible on the wire.
/// Not an NSec <see cref="Key"/>: each of those is a sodium_malloc region (two resident pages plus guard
/// pages, about 4 memory mappings), i.e. ~8 KiB RSS per key and a hard stop near 8k sessions at Linux's
/// default vm.max_map_count of 65530 (docs/scaling.md). wireguard-go keeps its keys on the Go heap too;
/// the key is zeroed on <see cref="Dispose"/>, which its keypair calls once retired and unused
/// (<see cref="KeyUseGate"/>).
/// </summary>
public sealed class TransportKey : IDisposable
{
    private readonly byte[] _key = new byte[32];

    public TransportKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("a ChaCha20-Poly1305 key has 32 bytes", nameof(key));
        }
        SodiumAead.EnsureInitialized();
        key.CopyTo(_key);
    }

    /// <summary>Seals plaintext into ciphertext (length plaintext + 16). The spans may be the same memory.</summary>
    public void Seal(ulong counter, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        Span<byte> nonce = stackalloc byte[ChaChaPoly.NonceSize];
        ChaChaPoly.WriteNonce(counter, nonce);
        if (AeadBackend.UseOpenSsl && plaintext.Length >= AeadBackend.OpenSslMinimumLength)
        {
            _ = OpenSslAead.Encrypt(_key, nonce, default, plaintext, ciphertext);
        }
        else
        {
            SodiumAead.Encrypt(_key, nonce, plaintext, ciphertext);
        }
    }

    /// <summary>Opens ciphertext (with tag) into plaintext; false when the tag does not verify.</summary>
    public bool Open(ulong counter, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[ChaChaPoly.NonceSize];
        ChaChaPoly.WriteNonce(counter, nonce);
        return AeadBackend.UseOpenSsl && ciphertext.Length >= AeadBackend.OpenSslMinimumLength + ChaChaPoly.TagSize
            ? OpenSslAead.Decrypt(_key, nonce, default, ciphertext, plaintext)
            : SodiumAead.Decrypt(_key, nonce, ciphertext, plaintext);
    }

    public void Dispose() => System.Security.Cryptography.CryptographicOperations.ZeroMemory(_key);

    /// <summary>Test hook: true once the key bytes are zero.</summary>
    internal bool IsZeroed => _key.AsSpan().IndexOfAnyExcept((byte)0) < 0;
}
