using System.Collections.Concurrent;

namespace JumpingVpn.Ui.Security;

/// <summary>
/// Signed-in browsers: the random value of the HttpOnly, SameSite=Strict cookie a sign-in link was exchanged
/// for, and when it expires (docs/ui.md "Security"). Kept in memory: a restart of the manager signs everyone out,
/// and <c>jvpn ui</c> signs in again.
/// </summary>
internal sealed class UiSessions(TimeProvider time, TimeSpan lifetime)
{
    public const string CookieName = "jvpn_ui";

    private readonly ConcurrentDictionary<string, long> _expiresAt = new(StringComparer.Ordinal);

    public TimeSpan Lifetime => lifetime;

    public string Open()
    {
        string id = RandomTokens.New();
        _expiresAt[id] = time.GetTimestamp() + (long)(lifetime.TotalSeconds * time.TimestampFrequency);
        return id;
    }

    public bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || !_expiresAt.TryGetValue(id, out long expiresAt))
        {
            return false;
        }
        if (time.GetTimestamp() < expiresAt)
        {
            return true;
        }
        _expiresAt.TryRemove(id, out _);
        return false;
    }

    public void Close(string? id)
    {
        if (!string.IsNullOrEmpty(id))
        {
            _expiresAt.TryRemove(id, out _);
        }
    }
}
