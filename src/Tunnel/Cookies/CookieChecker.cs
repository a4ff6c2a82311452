using System.Buffers.Binary;
using System.Security.Cryptography;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tunnel.Cookies;

/// <summary>
/// The receiving side of WireGuard's DoS mitigation (whitepaper §5.3, §5.4.4, §5.4.7): verifies mac1 on
/// every handshake message, and under load verifies mac2 against a cookie bound to the sender's address
/// or answers with an encrypted cookie reply. The cookie secret R_m rotates every two minutes.
/// Sans-I/O: time and randomness are inputs. Thread-safe (one lock, handshake path only).
/// </summary>
public sealed class CookieChecker
{
    /// <summary>R_m changes every 120 s (whitepaper §5.4.7, "Cookie MACs").</summary>
    public const long SecretLifetimeNs = 120L * 1_000_000_000;

    private readonly Lock _lock = new();
    private readonly byte[] _mac1Key = new byte[Blake2s.HashSize];
    private readonly byte[] _cookieKey = new byte[Blake2s.HashSize];
    private readonly byte[] _secret = new byte[Blake2s.HashSize];
    private long _secretCreatedNs = long.MinValue;

    public CookieChecker(ReadOnlySpan<byte> localPublicKey) => SetLocalPublicKey(localPublicKey);

    /// <summary>mac1 key = HASH(LABEL_MAC1 || S_pub), cookie key = HASH(LABEL_COOKIE || S_pub) of the receiver.</summary>
    public void SetLocalPublicKey(ReadOnlySpan<byte> localPublicKey)
    {
        lock (_lock)
        {
            Blake2s.Hash(NoiseConstants.LabelMac1, localPublicKey, _mac1Key);
            Blake2s.Hash(NoiseConstants.LabelCookie, localPublicKey, _cookieKey);
        }
    }

    /// <summary>mac1 = MAC(HASH(LABEL_MAC1 || S_pub), msg[0:mac1 offset]); constant-time compare.</summary>
    public bool CheckMac1(ReadOnlySpan<byte> message)
    {
        int off = MessageLayout.Mac1Offset(message.Length);
        if (off < 4)
        {
            return false;
        }
        Span<byte> mac = stackalloc byte[Blake2s.MacSize];
        lock (_lock)
        {
            Blake2s.Mac(_mac1Key, message[..off], mac);
        }
        return CryptographicOperations.FixedTimeEquals(mac, message.Slice(off, Blake2s.MacSize));
    }

    /// <summary>mac2 = MAC(cookie, msg[0:mac2 offset]) where cookie = MAC(R_m, source address bytes).</summary>
    public bool CheckMac2(ReadOnlySpan<byte> message, ReadOnlySpan<byte> sourceAddress, long nowNs)
    {
        int off = MessageLayout.Mac2Offset(message.Length);
        if (off < 4)
        {
            return false;
        }
        Span<byte> cookie = stackalloc byte[Blake2s.MacSize];
        Span<byte> mac = stackalloc byte[Blake2s.MacSize];
        lock (_lock)
        {
            if (_secretCreatedNs == long.MinValue || nowNs - _secretCreatedNs > SecretLifetimeNs)
            {
                return false;
            }
            Blake2s.Mac(_secret, sourceAddress, cookie);
        }
        Blake2s.Mac(cookie, message[..off], mac);
        return CryptographicOperations.FixedTimeEquals(mac, message.Slice(off, Blake2s.MacSize));
    }

    /// <summary>
    /// Builds a cookie reply (64 bytes) to <paramref name="message"/>: the cookie for the sender's address,
    /// XAEAD-encrypted under HASH(LABEL_COOKIE || S_pub) with the message's mac1 as associated data so only
    /// the real sender (who knows which mac1 it sent) can use it.
    /// </summary>
    public void CreateReply(ReadOnlySpan<byte> message, uint receiverIndex, ReadOnlySpan<byte> sourceAddress,
        long nowNs, Action<Span<byte>> random, Span<byte> reply)
    {
        Span<byte> cookie = stackalloc byte[Blake2s.MacSize];
        lock (_lock)
        {
            if (_secretCreatedNs == long.MinValue || nowNs - _secretCreatedNs > SecretLifetimeNs)
            {
                random(_secret);
                _secretCreatedNs = nowNs;
            }
            Blake2s.Mac(_secret, sourceAddress, cookie);
        }
        reply[..MessageLayout.CookieReplySize].Clear();
        reply[0] = MessageLayout.TypeCookieReply;
        BinaryPrimitives.WriteUInt32LittleEndian(reply[MessageLayout.CookieReceiver..], receiverIndex);
        Span<byte> nonce = reply.Slice(MessageLayout.CookieNonce, 24);
        random(nonce);
        int mac1Off = MessageLayout.Mac1Offset(message.Length);
        ChaChaPoly.XSeal(_cookieKey, nonce, cookie, message.Slice(mac1Off, Blake2s.MacSize),
            reply.Slice(MessageLayout.CookieEncrypted, Blake2s.MacSize + ChaChaPoly.TagSize));
    }
}
