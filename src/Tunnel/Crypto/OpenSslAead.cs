using System.Runtime.InteropServices;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// OpenSSL's ChaCha20-Poly1305 (libcrypto.so.3, EVP interface) called directly, for
/// <see cref="TransportKey"/> when <see cref="AeadBackend"/> selected it (docs/performance.md "AEAD": it is
/// the fastest of the three measured here and a bad tag is a return status, not an exception).
/// Each thread owns one EVP_CIPHER_CTX per direction (<see cref="ThreadContexts"/>): no lock and nothing
/// shared across threads or sessions. A context remembers which key array it was keyed with, so a run of
/// packets under one key only sets the nonce; switching keys re-keys the context (a copy of 32 bytes
/// inside OpenSSL: ChaCha20 has no key schedule). Contract: a key array's bytes never change while it is in
/// use, as <see cref="TransportKey"/>'s do not (written once, zeroed on dispose only after its last use).
/// </summary>
internal static unsafe partial class OpenSslAead
{
    private const string Library = "libcrypto.so.3";
    private const int TagSize = 16;
    private const int CtrlAeadGetTag = 0x10; // EVP_CTRL_AEAD_GET_TAG
    private const int CtrlAeadSetTag = 0x11; // EVP_CTRL_AEAD_SET_TAG

    private static nint s_cipher;

    [ThreadStatic]
    private static ThreadContexts? t_contexts;

    /// <summary>
    /// Loads libcrypto and fetches the cipher once. Throws (DllNotFoundException, EntryPointNotFoundException,
    /// InvalidOperationException) when OpenSSL 3 or its ChaCha20-Poly1305 is unavailable; <see cref="AeadBackend"/>
    /// turns that into the libsodium fallback.
    /// </summary>
    public static void Initialize()
    {
        if (s_cipher != 0)
        {
            return;
        }
        nint cipher;
        fixed (byte* name = "ChaCha20-Poly1305\0"u8)
        {
            cipher = EVP_CIPHER_fetch(0, name, null);
        }
        if (cipher == 0)
        {
            ERR_clear_error();
            throw new InvalidOperationException("OpenSSL has no ChaCha20-Poly1305 (a FIPS-only provider configuration?)");
        }
        s_cipher = cipher;
    }

    /// <summary>OpenSSL's own version line, e.g. "OpenSSL 3.0.19 27 Jan 2026".</summary>
    public static string Version()
    {
        byte* text = OpenSSL_version(0);
        return text is null ? "OpenSSL" : Marshal.PtrToStringUTF8((nint)text) ?? "OpenSSL";
    }

    /// <summary>Seals plaintext into ciphertext (length plaintext + 16, ct||tag); the spans may be the same memory.</summary>
    public static bool Encrypt(byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        if (ciphertext.Length < plaintext.Length + TagSize || nonce.Length != ChaChaPoly.NonceSize || key.Length != 32)
        {
            throw new ArgumentException("ciphertext must hold the plaintext and the 16-byte tag");
        }
        ThreadContexts contexts = t_contexts ?? CreateContexts();
        nint ctx = contexts.Seal;
        fixed (byte* k = key)
        fixed (byte* n = nonce)
        fixed (byte* a = ad)
        fixed (byte* m = plaintext)
        fixed (byte* c = ciphertext)
        {
            // Same key as this thread's previous seal: only the nonce changes (NULL key keeps the keyed state).
            byte* keyArg = ReferenceEquals(contexts.SealKey, key) ? null : k;
            if (EVP_CipherInit_ex(ctx, 0, 0, keyArg, n, 1) != 1)
            {
                return Fail(contexts, sealing: true);
            }
            contexts.SealKey = key;
            int written;
            if (ad.Length > 0 && EVP_EncryptUpdate(ctx, null, &written, a, ad.Length) != 1)
            {
                return Fail(contexts, sealing: true);
            }
            int length = 0;
            if (plaintext.Length > 0)
            {
                if (EVP_EncryptUpdate(ctx, c, &written, m, plaintext.Length) != 1)
                {
                    return Fail(contexts, sealing: true);
                }
                length = written;
            }
            if (EVP_EncryptFinal_ex(ctx, c + length, &written) != 1)
            {
                return Fail(contexts, sealing: true);
            }
            length += written;
            return EVP_CIPHER_CTX_ctrl(ctx, CtrlAeadGetTag, TagSize, c + length) == 1 || Fail(contexts, sealing: true);
        }
    }

    /// <summary>
    /// Opens ct||tag into plaintext (the spans may be the same memory); false when the tag does not verify or
    /// the lengths are wrong. Never throws for a forged packet: the check is EVP_DecryptFinal_ex's status.
    /// </summary>
    public static bool Decrypt(byte[] key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ad, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        if (ciphertext.Length < TagSize || plaintext.Length < ciphertext.Length - TagSize
            || nonce.Length != ChaChaPoly.NonceSize || key.Length != 32)
        {
            return false;
        }
        ThreadContexts contexts = t_contexts ?? CreateContexts();
        nint ctx = contexts.Open;
        int bodyLength = ciphertext.Length - TagSize;
        fixed (byte* k = key)
        fixed (byte* n = nonce)
        fixed (byte* a = ad)
        fixed (byte* c = ciphertext)
        fixed (byte* m = plaintext)
        {
            byte* keyArg = ReferenceEquals(contexts.OpenKey, key) ? null : k;
            if (EVP_CipherInit_ex(ctx, 0, 0, keyArg, n, 0) != 1)
            {
                return Fail(contexts, sealing: false);
            }
            contexts.OpenKey = key;
            // The tag is copied into the context before the body is decrypted in place over it.
            if (EVP_CIPHER_CTX_ctrl(ctx, CtrlAeadSetTag, TagSize, c + bodyLength) != 1)
            {
                return Fail(contexts, sealing: false);
            }
            int written;
            if (ad.Length > 0 && EVP_DecryptUpdate(ctx, null, &written, a, ad.Length) != 1)
            {
                return Fail(contexts, sealing: false);
            }
            int length = 0;
            if (bodyLength > 0)
            {
                if (EVP_DecryptUpdate(ctx, m, &written, c, bodyLength) != 1)
                {
                    return Fail(contexts, sealing: false);
                }
                length = written;
            }
            if (EVP_DecryptFinal_ex(ctx, m + length, &written) == 1)
            {
                return true;
            }
            // A forged or corrupted packet: plaintext holds unauthenticated bytes the caller must drop.
            // OpenSSL may have queued an error; clear it so the thread's queue never carries stale entries.
            ERR_clear_error();
            return false;
        }
    }

    /// <summary>
    /// An unexpected failure of the EVP calls: forget the context's key so the next call re-keys from scratch,
    /// and clear OpenSSL's error queue. The operation reports failure (open) or throws (seal: never expected).
    /// </summary>
    private static bool Fail(ThreadContexts contexts, bool sealing)
    {
        ERR_clear_error();
        if (sealing)
        {
            contexts.SealKey = null;
            throw new InvalidOperationException("OpenSSL ChaCha20-Poly1305 sealing failed");
        }
        contexts.OpenKey = null;
        return false;
    }

    private static ThreadContexts CreateContexts()
    {
        Initialize();
        var contexts = new ThreadContexts(NewContext(1), NewContext(0));
        t_contexts = contexts;
        return contexts;
    }

    private static nint NewContext(int encrypt)
    {
        nint ctx = EVP_CIPHER_CTX_new();
        if (ctx == 0)
        {
            throw new InvalidOperationException("EVP_CIPHER_CTX_new failed (out of memory)");
        }
        if (EVP_CipherInit_ex(ctx, s_cipher, 0, null, null, encrypt) != 1)
        {
            EVP_CIPHER_CTX_free(ctx);
            ERR_clear_error();
            throw new InvalidOperationException("OpenSSL refused to initialise ChaCha20-Poly1305");
        }
        return ctx;
    }

    /// <summary>
    /// One thread's two contexts. The finalizer frees them (OpenSSL clears a cipher context on free) once the
    /// thread has ended and nothing references them any more.
    /// </summary>
    private sealed class ThreadContexts(nint seal, nint open)
    {
        public nint Seal { get; } = seal;
        public nint Open { get; } = open;

        /// <summary>The key array <see cref="Seal"/> was last keyed with (reference identity, never compared by value).</summary>
        public byte[]? SealKey { get; set; }

        public byte[]? OpenKey { get; set; }

        ~ThreadContexts()
        {
            EVP_CIPHER_CTX_free(Seal);
            EVP_CIPHER_CTX_free(Open);
        }
    }

    [LibraryImport(Library)]
    private static partial nint EVP_CIPHER_fetch(nint libraryContext, byte* algorithm, byte* properties);

    [LibraryImport(Library)]
    private static partial nint EVP_CIPHER_CTX_new();

    [LibraryImport(Library)]
    private static partial void EVP_CIPHER_CTX_free(nint ctx);

    [LibraryImport(Library)]
    private static partial int EVP_CipherInit_ex(nint ctx, nint cipher, nint engine, byte* key, byte* iv, int enc);

    [LibraryImport(Library)]
    private static partial int EVP_EncryptUpdate(nint ctx, byte* output, int* outputLength, byte* input, int inputLength);

    [LibraryImport(Library)]
    private static partial int EVP_EncryptFinal_ex(nint ctx, byte* output, int* outputLength);

    [LibraryImport(Library)]
    private static partial int EVP_DecryptUpdate(nint ctx, byte* output, int* outputLength, byte* input, int inputLength);

    [LibraryImport(Library)]
    private static partial int EVP_DecryptFinal_ex(nint ctx, byte* output, int* outputLength);

    [LibraryImport(Library)]
    private static partial int EVP_CIPHER_CTX_ctrl(nint ctx, int type, int arg, byte* ptr);

    [LibraryImport(Library)]
    private static partial void ERR_clear_error();

    [LibraryImport(Library)]
    private static partial byte* OpenSSL_version(int type);
}
