using System.Security.Cryptography;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;
using Org.BouncyCastle.Crypto.Digests;

namespace JumpingVpn.Tunnel.Cookies;

/// <summary>
/// mac1 of an incoming initiation or response (whitepaper §5.4.4), checked on the receive thread before
/// the message costs any shared budget (docs/scaling.md, "Handshake admission"). mac1 proves only that the
/// sender knows our public key, but that is exactly what a keyless flood of random 148-byte datagrams
/// lacks, and it costs one BLAKE2s block pass, no key material beyond the public key.
/// </summary>
/// <remarks>
/// Allocation-free after construction: one keyed digest is reused; BLAKE2s re-applies its key block
/// whenever it resets, which <c>DoFinal</c> does. Not thread-safe: one instance per thread (the receive
/// thread owns it); the handshake thread keeps using <see cref="CookieChecker"/>.
/// </remarks>
public sealed class Mac1Verifier
{
    private readonly Blake2sDigest _mac;
    private readonly byte[] _expected = new byte[Blake2s.MacSize];

    /// <param name="localPublicKey">Our static public key: mac1 key = HASH(LABEL_MAC1 || S_pub).</param>
    public Mac1Verifier(ReadOnlySpan<byte> localPublicKey)
    {
        byte[] key = new byte[Blake2s.HashSize];
        Blake2s.Hash(NoiseConstants.LabelMac1, localPublicKey, key);
        _mac = new Blake2sDigest(key, Blake2s.MacSize, null, null);
        CryptographicOperations.ZeroMemory(key); // the digest keeps its own copy
    }

    /// <summary>
    /// True when <paramref name="message"/> (an initiation or a response, full length) carries a valid
    /// mac1. Constant-time compare; any other length is false.
    /// </summary>
    public bool Check(ReadOnlySpan<byte> message)
    {
        if (message.Length != MessageLayout.InitiationSize && message.Length != MessageLayout.ResponseSize)
        {
            return false;
        }
        int off = MessageLayout.Mac1Offset(message.Length);
        _mac.BlockUpdate(message[..off]);
        _mac.DoFinal(_expected);
        return CryptographicOperations.FixedTimeEquals(_expected, message.Slice(off, Blake2s.MacSize));
    }
}
