using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tunnel.Noise;

/// <summary>
/// The Noise SymmetricState (Noise spec §5.2) with BLAKE2s and ChaChaPoly: chaining key ck, handshake
/// hash h, and the current cipher key k. WireGuard uses each k for exactly one message, so its nonce is
/// always 0. Cold path: clarity over speed.
/// </summary>
internal sealed class SymmetricState
{
    public byte[] ChainingKey { get; } = new byte[Blake2s.HashSize];
    public byte[] Hash { get; } = new byte[Blake2s.HashSize];
    private readonly byte[] _key = new byte[Blake2s.HashSize];

    /// <summary>Noise InitializeSymmetric + MixHash(prologue) (§5.2, §5.3).</summary>
    public void Initialize(ReadOnlySpan<byte> protocolName, ReadOnlySpan<byte> prologue)
    {
        if (protocolName.Length <= Blake2s.HashSize)
        {
            Hash.AsSpan().Clear();
            protocolName.CopyTo(Hash);
        }
        else
        {
            Blake2s.Hash(protocolName, Hash);
        }
        Hash.CopyTo(ChainingKey, 0);
        MixHash(prologue);
    }

    public void MixHash(ReadOnlySpan<byte> data) => Blake2s.Hash(Hash, data, Hash);

    /// <summary>MixKey: ck, k = HKDF(ck, input, 2).</summary>
    public void MixKey(ReadOnlySpan<byte> input)
    {
        Span<byte> ck = stackalloc byte[Blake2s.HashSize];
        Blake2s.Kdf(ChainingKey, input, ck, _key, default);
        ck.CopyTo(ChainingKey);
        ck.Clear();
    }

    /// <summary>MixKeyAndHash (psk token): ck, temp_h, k = HKDF(ck, input, 3); MixHash(temp_h).</summary>
    public void MixKeyAndHash(ReadOnlySpan<byte> input)
    {
        Span<byte> ck = stackalloc byte[Blake2s.HashSize];
        Span<byte> temp = stackalloc byte[Blake2s.HashSize];
        Blake2s.Kdf(ChainingKey, input, ck, temp, _key);
        ck.CopyTo(ChainingKey);
        MixHash(temp);
        ck.Clear();
        temp.Clear();
    }

    /// <summary>MixKey followed by a DH: convenience for the es/ss/ee/se tokens. False on an all-zero DH.</summary>
    public bool MixDh(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        Span<byte> dh = stackalloc byte[X25519.KeySize];
        bool ok = X25519.TryAgree(privateKey, publicKey, dh);
        if (ok)
        {
            MixKey(dh);
        }
        dh.Clear();
        return ok;
    }

    /// <summary>EncryptAndHash with nonce 0: ciphertext = AEAD(k, 0, plaintext, h); MixHash(ciphertext).</summary>
    public void EncryptAndHash(ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        ChaChaPoly.Seal(_key, 0, plaintext, Hash, ciphertext);
        MixHash(ciphertext[..(plaintext.Length + ChaChaPoly.TagSize)]);
    }

    public bool DecryptAndHash(ReadOnlySpan<byte> ciphertext, Span<byte> plaintext)
    {
        if (!ChaChaPoly.Open(_key, 0, ciphertext, Hash, plaintext))
        {
            return false;
        }
        MixHash(ciphertext);
        return true;
    }

    /// <summary>Split (§5.2): (k1, k2) = HKDF(ck, empty, 2).</summary>
    public void Split(Span<byte> first, Span<byte> second) => Blake2s.Kdf(ChainingKey, default, first, second, default);

    public void CopyFrom(SymmetricState other)
    {
        other.ChainingKey.CopyTo(ChainingKey, 0);
        other.Hash.CopyTo(Hash, 0);
        other._key.CopyTo(_key, 0);
    }

    public void Clear()
    {
        Array.Clear(ChainingKey);
        Array.Clear(Hash);
        Array.Clear(_key);
    }
}
