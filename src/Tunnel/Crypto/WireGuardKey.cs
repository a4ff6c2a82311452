using System.Diagnostics.CodeAnalysis;

namespace JumpingVpn.Tunnel.Crypto;

/// <summary>
/// Text encodings of 32-byte WireGuard keys: standard base64 with padding (44 characters), exactly as
/// `wg genkey`/`wg pubkey`/`wg genpsk` print them, and lower-case hex as the cross-platform userspace API
/// (UAPI) uses on the wire.
/// </summary>
public static class WireGuardKey
{
    public const int Size = 32;
    public const int Base64Length = 44;

    /// <summary>Decodes a base64 key; rejects anything that is not exactly 32 bytes of canonical base64.</summary>
    public static bool TryParseBase64(string? text, [NotNullWhen(true)] out byte[]? key)
    {
        key = null;
        if (text is null)
        {
            return false;
        }
        text = text.Trim();
        if (text.Length != Base64Length || text[^1] != '=' || text[^2] == '=')
        {
            return false;
        }
        byte[] buffer = new byte[Size + 1];
        if (!Convert.TryFromBase64String(text, buffer, out int written) || written != Size)
        {
            return false;
        }
        key = buffer.AsSpan(0, Size).ToArray();
        // Canonical form only: the last character carries 4 padding bits that must be zero, so two
        // different strings can never name the same key.
        if (!string.Equals(Convert.ToBase64String(key), text, StringComparison.Ordinal))
        {
            key = null;
            return false;
        }
        return true;
    }

    public static string ToBase64(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"a WireGuard key is {Size} bytes, got {key.Length}", nameof(key));
        }
        return Convert.ToBase64String(key);
    }

    public static bool TryParseHex(string? text, [NotNullWhen(true)] out byte[]? key)
    {
        key = null;
        if (text is null || text.Length != Size * 2)
        {
            return false;
        }
        try
        {
            key = Convert.FromHexString(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static string ToHex(ReadOnlySpan<byte> key) => Convert.ToHexStringLower(key);
}
