using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace JumpingVpn.Ui.Security;

/// <summary>
/// Sign-in links: a random token that may be exchanged for a cookie once, within its lifetime
/// (docs/ui.md "Security"). A used or expired token is refused, so a link copied out of a browser history or a
/// log is worth nothing.
/// </summary>
internal sealed class OneTimeTokens(TimeProvider time, TimeSpan lifetime)
{
    private readonly ConcurrentDictionary<string, long> _expiresAt = new(StringComparer.Ordinal);

    /// <summary>A new token (256 random bits, URL-safe).</summary>
    public string Issue()
    {
        Prune();
        string token = RandomTokens.New();
        _expiresAt[token] = time.GetTimestamp() + ToTicks(lifetime);
        return token;
    }

    /// <summary>True once for a token that was issued and has not expired; false for any other string.</summary>
    public bool TryRedeem(string? token)
    {
        if (string.IsNullOrEmpty(token) || !_expiresAt.TryRemove(token, out long expiresAt))
        {
            return false;
        }
        return time.GetTimestamp() < expiresAt;
    }

    private void Prune()
    {
        long now = time.GetTimestamp();
        foreach (KeyValuePair<string, long> entry in _expiresAt)
        {
            if (entry.Value <= now)
            {
                _expiresAt.TryRemove(entry);
            }
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}

/// <summary>URL- and cookie-safe random strings for tokens and session ids.</summary>
internal static class RandomTokens
{
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
