using System.Security.Cryptography;
using NSec.Cryptography;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// Curve25519 Diffie-Hellman (RFC 7748) through NSec/libsodium. Private keys are clamped exactly as
/// `wg genkey` clamps them, so `jvpn pubkey` prints byte-identical output to `wg pubkey`.
/// </summary>
public static class X25519
{
    public const int KeySize = 32;
    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    /// <summary>Fills <paramref name="privateKey"/> with a new clamped private key from <paramref name="random"/>.</summary>
    public static void GeneratePrivateKey(Span<byte> privateKey, Action<Span<byte>>? random = null)
    {
        (random ?? RandomNumberGenerator.Fill)(privateKey[..KeySize]);
        Clamp(privateKey);
    }

    /// <summary>RFC 7748 §5 clamping, which wg(8) applies when it generates a key.</summary>
    public static void Clamp(Span<byte> privateKey)
    {
        privateKey[0] &= 248;
        privateKey[31] = (byte)((privateKey[31] & 127) | 64);
    }

    public static void DerivePublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
    {
        // libsodium clamps the scalar itself, as RFC 7748 requires; direct call, see SodiumX25519.
        SodiumX25519.ScalarMultBase(privateKey, publicKey);
    }

    /// <summary>
    /// DH(private, public). Returns false when the result is all zero (a low-order public key); WireGuard
    /// rejects those handshakes.
    /// </summary>
    public static bool TryAgree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> sharedSecret)
    {
        if (publicKey.Length != KeySize || !SodiumX25519.ScalarMult(privateKey, publicKey, sharedSecret))
        {
            sharedSecret[..Math.Min(KeySize, sharedSecret.Length)].Clear();
            return false;
        }
        int acc = 0;
        for (int i = 0; i < KeySize; i++)
        {
            acc |= sharedSecret[i];
        }
        return acc != 0;
    }
}
