using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tunnel.Noise;

/// <summary>
/// The two messages of Noise_IKpsk2 (Noise spec §7.5 pattern IK with the psk2 modifier, §9):
/// <code>
///   &lt;- s
///   ...
///   -> e, es, s, ss          (payload)
///   &lt;- e, ee, se, psk     (payload)
/// </code>
/// Generic over prologue and payloads so the public cacophony test vector can drive it; WireGuard fixes
/// the prologue to its identifier and the payloads to a TAI64N timestamp and nothing (whitepaper §5.4.2-3).
/// In PSK handshakes the "e" token also runs MixKey(e.public_key) (Noise §9.2).
/// </summary>
internal static class NoiseIKpsk2
{
    public const int KeySize = X25519.KeySize;
    public const int EncryptedStaticSize = KeySize + ChaChaPoly.TagSize;

    /// <summary>Initialize + pre-message "&lt;- s": MixHash(responder static).</summary>
    public static void Initialize(SymmetricState st, ReadOnlySpan<byte> prologue, ReadOnlySpan<byte> responderStatic)
    {
        st.Initialize(NoiseConstants.Construction, prologue);
        st.MixHash(responderStatic);
    }

    /// <summary>Message 1 = e(32) || AEAD(s)(48) || AEAD(payload)(n+16).</summary>
    public static bool WriteMessage1(SymmetricState st, ReadOnlySpan<byte> ePriv, ReadOnlySpan<byte> ePub,
        ReadOnlySpan<byte> sPriv, ReadOnlySpan<byte> sPub, ReadOnlySpan<byte> rs, ReadOnlySpan<byte> payload, Span<byte> message)
    {
        ePub.CopyTo(message);
        st.MixHash(ePub);
        st.MixKey(ePub);
        if (!st.MixDh(ePriv, rs))
        {
            return false;
        }
        st.EncryptAndHash(sPub, message.Slice(KeySize, EncryptedStaticSize));
        if (!st.MixDh(sPriv, rs))
        {
            return false;
        }
        st.EncryptAndHash(payload, message[(KeySize + EncryptedStaticSize)..]);
        return true;
    }

    /// <summary>Reads message 1 on the responder; outputs the initiator's ephemeral and static keys.</summary>
    public static bool ReadMessage1(SymmetricState st, ReadOnlySpan<byte> sPriv, ReadOnlySpan<byte> message,
        Span<byte> remoteEphemeral, Span<byte> remoteStatic, Span<byte> payload)
    {
        ReadOnlySpan<byte> re = message[..KeySize];
        re.CopyTo(remoteEphemeral);
        st.MixHash(re);
        st.MixKey(re);
        if (!st.MixDh(sPriv, re))
        {
            return false;
        }
        if (!st.DecryptAndHash(message.Slice(KeySize, EncryptedStaticSize), remoteStatic))
        {
            return false;
        }
        if (!st.MixDh(sPriv, remoteStatic))
        {
            return false;
        }
        return st.DecryptAndHash(message[(KeySize + EncryptedStaticSize)..], payload);
    }

    /// <summary>Message 2 = e(32) || AEAD(payload)(n+16).</summary>
    public static bool WriteMessage2(SymmetricState st, ReadOnlySpan<byte> ePriv, ReadOnlySpan<byte> ePub,
        ReadOnlySpan<byte> remoteEphemeral, ReadOnlySpan<byte> remoteStatic, ReadOnlySpan<byte> psk,
        ReadOnlySpan<byte> payload, Span<byte> message)
    {
        ePub.CopyTo(message);
        st.MixHash(ePub);
        st.MixKey(ePub);
        if (!st.MixDh(ePriv, remoteEphemeral) || !st.MixDh(ePriv, remoteStatic))
        {
            return false;
        }
        st.MixKeyAndHash(psk);
        st.EncryptAndHash(payload, message[KeySize..]);
        return true;
    }

    /// <summary>Reads message 2 on the initiator.</summary>
    public static bool ReadMessage2(SymmetricState st, ReadOnlySpan<byte> ePriv, ReadOnlySpan<byte> sPriv,
        ReadOnlySpan<byte> psk, ReadOnlySpan<byte> message, Span<byte> payload)
    {
        ReadOnlySpan<byte> re = message[..KeySize];
        st.MixHash(re);
        st.MixKey(re);
        if (!st.MixDh(ePriv, re) || !st.MixDh(sPriv, re))
        {
            return false;
        }
        st.MixKeyAndHash(psk);
        return st.DecryptAndHash(message[KeySize..], payload);
    }
}
