using Org.BouncyCastle.Crypto.Digests;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// BLAKE2s (RFC 7693) and the constructions WireGuard builds on it (whitepaper §5.4): HASH, MAC
/// (keyed BLAKE2s-128), HMAC-BLAKE2s and the HKDF-style KDF1/2/3 of the Noise framework (§4.3).
/// Handshake-only (cold path); BouncyCastle supplies the primitive, nothing here is hand-rolled crypto.
/// </summary>
internal static class Blake2s
{
    public const int HashSize = 32;
    public const int MacSize = 16;
    private const int BlockSize = 64;

    public static void Hash(ReadOnlySpan<byte> a, Span<byte> output) => Hash(a, default, output);

    public static void Hash(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> output)
    {
        var d = new Blake2sDigest(256);
        d.BlockUpdate(a);
        d.BlockUpdate(b);
        d.DoFinal(output);
    }

    /// <summary>MAC(key, input) = keyed BLAKE2s with a 16-byte output (whitepaper §5.4, mac1/mac2/cookie).</summary>
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var d = new Blake2sDigest(key.ToArray(), MacSize, null, null);
        d.BlockUpdate(input);
        d.DoFinal(output);
    }

    /// <summary>HMAC (RFC 2104) over BLAKE2s-256; the Noise HKDF uses it, not keyed BLAKE2s.</summary>
    public static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output)
    {
        Span<byte> k = stackalloc byte[BlockSize];
        k.Clear();
        if (key.Length > BlockSize)
        {
            Hash(key, k[..HashSize]);
        }
        else
        {
            key.CopyTo(k);
        }
        Span<byte> pad = stackalloc byte[BlockSize];
        Span<byte> inner = stackalloc byte[HashSize];
        for (int i = 0; i < BlockSize; i++)
        {
            pad[i] = (byte)(k[i] ^ 0x36);
        }
        Hash(pad, input, inner);
        for (int i = 0; i < BlockSize; i++)
        {
            pad[i] = (byte)(k[i] ^ 0x5c);
        }
        Hash(pad, inner, output);
        k.Clear();
        inner.Clear();
    }

    /// <summary>
    /// Noise HKDF (Noise §4.3): temp = HMAC(ck, input); t1 = HMAC(temp, 0x01); t2 = HMAC(temp, t1||0x02);
    /// t3 = HMAC(temp, t2||0x03). Outputs that are empty spans are not computed.
    /// </summary>
    public static void Kdf(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2, Span<byte> t3)
    {
        Span<byte> temp = stackalloc byte[HashSize];
        Span<byte> buf = stackalloc byte[HashSize + 1];
        Hmac(chainingKey, input, temp);
        buf[0] = 1;
        Hmac(temp, buf[..1], t1);
        if (!t2.IsEmpty)
        {
            t1.CopyTo(buf);
            buf[HashSize] = 2;
            Hmac(temp, buf, t2);
            if (!t3.IsEmpty)
            {
                t2.CopyTo(buf);
                buf[HashSize] = 3;
                Hmac(temp, buf, t3);
            }
        }
        temp.Clear();
        buf.Clear();
    }
}
