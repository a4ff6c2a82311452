using System.Runtime.InteropServices;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// libsodium's X25519 called directly on caller-owned spans. NSec's Key.Import for X25519 allocates
/// guarded sodium_malloc memory (mmap + mprotect, then munmap: syscalls and TLB shootdowns) and derives
/// the public key at import, so one DH through NSec cost two scalar multiplications and several
/// syscalls; the handshake does four DH per side (handshakes per second at 100k peers).
/// </summary>
internal static unsafe partial class SodiumX25519
{
    private const string Library = "libsodium";

    /// <summary>q = n * p; false when libsodium refuses an all-zero result (a low-order point).</summary>
    public static bool ScalarMult(ReadOnlySpan<byte> n, ReadOnlySpan<byte> p, Span<byte> q)
    {
        SodiumAead.EnsureInitialized();
        if (n.Length < X25519.KeySize || p.Length < X25519.KeySize || q.Length < X25519.KeySize)
        {
            return false;
        }
        fixed (byte* np = n)
        fixed (byte* pp = p)
        fixed (byte* qp = q)
        {
            return crypto_scalarmult_curve25519(qp, np, pp) == 0;
        }
    }

    /// <summary>q = n * base point (the public key of private key n).</summary>
    public static void ScalarMultBase(ReadOnlySpan<byte> n, Span<byte> q)
    {
        SodiumAead.EnsureInitialized();
        if (n.Length < X25519.KeySize || q.Length < X25519.KeySize)
        {
            throw new ArgumentException("X25519 keys have 32 bytes");
        }
        fixed (byte* np = n)
        fixed (byte* qp = q)
        {
            if (crypto_scalarmult_curve25519_base(qp, np) != 0)
            {
                throw new System.Security.Cryptography.CryptographicException("X25519 public key derivation failed");
            }
        }
    }

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_curve25519(byte* q, byte* n, byte* p);

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_curve25519_base(byte* q, byte* n);
}
