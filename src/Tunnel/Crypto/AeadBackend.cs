namespace JumpingVpn.Tunnel.Crypto;

/// <summary>The native ChaCha20-Poly1305 that seals and opens transport packets.</summary>
public enum AeadImplementation
{
    /// <summary>libsodium (shipped with NSec): always present, the fallback.</summary>
    Sodium,

    /// <summary>OpenSSL 3's libcrypto.so.3 through EVP (docs/performance.md "AEAD": the fastest measured here).</summary>
    OpenSsl,
}

/// <summary>
/// Chooses the transport AEAD once per process (docs/performance.md "AEAD"): OpenSSL when libcrypto.so.3
/// loads, has ChaCha20-Poly1305 and reproduces RFC 8439 §2.8.2 byte for byte (a start-up self-test, so a
/// broken or unexpected libcrypto can never corrupt traffic), else libsodium. <c>JVPN_AEAD=sodium</c> or
/// <c>JVPN_AEAD=openssl</c> forces one (for A/B benchmarks); a forced OpenSSL that is unusable still falls
/// back, with the reason in <see cref="Description"/>, which <c>jvpn up</c> logs.
/// </summary>
public static class AeadBackend
{
    public const string Variable = "JVPN_AEAD";

    /// <summary>Read by <see cref="TransportKey"/> per packet; a static readonly the JIT folds to a constant.</summary>
    internal static readonly bool UseOpenSsl;

    /// <summary>
    /// Shorter plaintexts go to libsodium even when OpenSSL is selected: EVP's fixed cost per packet (four calls
    /// through the provider layer) outweighs its faster ChaCha20 below about this size (the curves cross near 630 B here) (docs/performance.md "AEAD").
    /// TCP ACKs and keepalives are short; full-size data packets are not.
    /// </summary>
    public const int OpenSslMinimumLength = 640;

    static AeadBackend()
    {
        string? forced = Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant();
        if (forced is "sodium" or "libsodium")
        {
            Selected = AeadImplementation.Sodium;
            Description = "libsodium (" + Variable + "=" + forced + ")";
            return;
        }
        string? unusable = ProbeOpenSsl();
        if (unusable is null)
        {
            UseOpenSsl = true;
            Selected = AeadImplementation.OpenSsl;
            Description = OpenSslAead.Version();
            return;
        }
        Selected = AeadImplementation.Sodium;
        Description = "libsodium (OpenSSL unusable: " + unusable + ")";
    }

    public static AeadImplementation Selected { get; }

    /// <summary>One line for the start-up log, e.g. "OpenSSL 3.0.19 27 Jan 2026" or "libsodium (OpenSSL unusable: ...)".</summary>
    public static string Description { get; }

    /// <summary>Null when OpenSSL's ChaCha20-Poly1305 loads and passes the known answer; else why not.</summary>
    internal static string? ProbeOpenSsl()
    {
        try
        {
            OpenSslAead.Initialize();
            return KnownAnswerHolds() ? null : "its ChaCha20-Poly1305 failed the RFC 8439 known-answer test";
        }
        catch (DllNotFoundException)
        {
            return "libcrypto.so.3 not found; install OpenSSL 3 (Debian: libssl3) for faster encryption";
        }
        catch (EntryPointNotFoundException)
        {
            return "libcrypto.so.3 lacks the EVP functions of OpenSSL 3";
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    }

    // RFC 8439 §2.8.2: the one published ChaCha20-Poly1305 example with associated data.
    private static bool KnownAnswerHolds()
    {
        byte[] key = Convert.FromHexString("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        byte[] nonce = Convert.FromHexString("070000004041424344454647");
        byte[] ad = Convert.FromHexString("50515253c0c1c2c3c4c5c6c7");
        ReadOnlySpan<byte> plaintext =
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8;
        byte[] expected = Convert.FromHexString(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
            "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
            "3ff4def08e4b7a9de576d26586cec64b6116" +
            "1ae10b594f09e26a7e902ecbd0600691");
        byte[] sealedBox = new byte[expected.Length];
        if (!OpenSslAead.Encrypt(key, nonce, ad, plaintext, sealedBox) || !sealedBox.AsSpan().SequenceEqual(expected))
        {
            return false;
        }
        byte[] opened = new byte[plaintext.Length];
        if (!OpenSslAead.Decrypt(key, nonce, ad, sealedBox, opened) || !opened.AsSpan().SequenceEqual(plaintext))
        {
            return false;
        }
        sealedBox[^1] ^= 1;
        return !OpenSslAead.Decrypt(key, nonce, ad, sealedBox, opened);
    }
}
