using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tunnel.Cookies;

/// <summary>
/// The sending side (whitepaper §5.4.4, §5.4.7): stamps mac1 and, while a cookie from the peer is
/// fresh (under 120 s old), mac2 on every handshake message we send to that peer, and decrypts cookie
/// replies addressed to the last mac1 we sent. One per peer; guarded by the peer's handshake lock.
/// </summary>
public sealed class CookieGenerator
{
    private const long CookieLifetimeNs = 120L * 1_000_000_000 - 2_000_000_000; // minus a margin: reject before the secret rotates
    private readonly byte[] _mac1Key = new byte[Blake2s.HashSize];
    private readonly byte[] _cookieKey = new byte[Blake2s.HashSize];
    private readonly byte[] _lastMac1 = new byte[Blake2s.MacSize];
    private readonly byte[] _cookie = new byte[Blake2s.MacSize];
    private bool _haveLastMac1;
    private long _cookieReceivedNs = long.MinValue;

    public CookieGenerator(ReadOnlySpan<byte> remotePublicKey)
    {
        Blake2s.Hash(NoiseConstants.LabelMac1, remotePublicKey, _mac1Key);
        Blake2s.Hash(NoiseConstants.LabelCookie, remotePublicKey, _cookieKey);
    }

    /// <summary>Fills mac1 and mac2 (zero without a fresh cookie) at the end of a handshake message.</summary>
    public void AddMacs(Span<byte> message, long nowNs)
    {
        int mac1Off = MessageLayout.Mac1Offset(message.Length);
        int mac2Off = MessageLayout.Mac2Offset(message.Length);
        Blake2s.Mac(_mac1Key, message[..mac1Off], message.Slice(mac1Off, Blake2s.MacSize));
        message.Slice(mac1Off, Blake2s.MacSize).CopyTo(_lastMac1);
        _haveLastMac1 = true;
        if (_cookieReceivedNs != long.MinValue && nowNs - _cookieReceivedNs < CookieLifetimeNs)
        {
            Blake2s.Mac(_cookie, message[..mac2Off], message.Slice(mac2Off, Blake2s.MacSize));
        }
        else
        {
            message.Slice(mac2Off, Blake2s.MacSize).Clear();
        }
    }

    /// <summary>Decrypts a cookie reply; false if it does not answer the last message we sent.</summary>
    public bool ConsumeReply(ReadOnlySpan<byte> reply, long nowNs)
    {
        if (!_haveLastMac1 || reply.Length != MessageLayout.CookieReplySize)
        {
            return false;
        }
        Span<byte> cookie = stackalloc byte[Blake2s.MacSize];
        if (!ChaChaPoly.XOpen(_cookieKey, reply.Slice(MessageLayout.CookieNonce, 24),
                reply.Slice(MessageLayout.CookieEncrypted, Blake2s.MacSize + ChaChaPoly.TagSize), _lastMac1, cookie))
        {
            return false;
        }
        cookie.CopyTo(_cookie);
        _cookieReceivedNs = nowNs;
        _haveLastMac1 = false; // one reply per message (wireguard-go cookie.go)
        return true;
    }
}
