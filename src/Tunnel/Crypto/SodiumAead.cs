using System.Runtime.InteropServices;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// libsodium's ChaCha20-Poly1305 (IETF, 96-bit nonce) called directly with a caller-owned key, for
/// <see cref="TransportKey"/>. The native library is the one NSec ships (package libsodium); NSec has
/// already run sodium_init when its algorithms are first touched, and calling it again is harmless.
/// Detached tag layout is avoided: the combined ct||tag layout is WireGuard's wire format.
/// </summary>
internal static unsafe partial class SodiumAead
{
    private const string Library = "libsodium";
    private const int TagSize = 16;
    private static int s_initialized;

    public static void EnsureInitialized()
    {
        if (Volatile.Read(ref s_initialized) != 0)
        {
            return;
        }
        _ = ChaChaPoly.Aead; // loads NSec, which resolves and initialises the native library
        if (sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise");
        }
        Volatile.Write(ref s_initialized, 1);
    }

    public static void Encrypt(byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
        => Encrypt(key, nonce, default, plaintext, ciphertext);

    public static void Encrypt(byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        if (ciphertext.Length < plaintext.Length + TagSize || nonce.Length != ChaChaPoly.NonceSize)
        {
            throw new ArgumentException("ciphertext must hold the plaintext and the 16-byte tag");
        }
        fixed (byte* k = key)
        fixed (byte* n = nonce)
        fixed (byte* a = ad)
        fixed (byte* m = plaintext)
        fixed (byte* c = ciphertext)
        {
            _ = crypto_aead_chacha20poly1305_ietf_encrypt(c, out _, m, (ulong)plaintext.Length, a, (ulong)ad.Length, null, n, k);
        }
    }

    public static bool Decrypt(byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
        => Decrypt(key, nonce, default, ciphertext, plaintext);

    public static bool Decrypt(byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        if (ciphertext.Length < TagSize || plaintext.Length < ciphertext.Length - TagSize || nonce.Length != ChaChaPoly.NonceSize)
        {
            return false;
        }
        fixed (byte* k = key)
        fixed (byte* n = nonce)
        fixed (byte* a = ad)
        fixed (byte* c = ciphertext)
        fixed (byte* m = plaintext)
        {
            return crypto_aead_chacha20poly1305_ietf_decrypt(m, out _, null, c, (ulong)ciphertext.Length, a, (ulong)ad.Length, n, k) == 0;
        }
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial int crypto_aead_chacha20poly1305_ietf_encrypt(byte* c, out ulong clen, byte* m, ulong mlen,
        byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial int crypto_aead_chacha20poly1305_ietf_decrypt(byte* m, out ulong mlen, byte* nsec, byte* c, ulong clen,
        byte* ad, ulong adlen, byte* npub, byte* k);
}
