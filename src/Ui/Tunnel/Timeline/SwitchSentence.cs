using System.Globalization;

namespace JumpingVpn.Ui.Tunnel.Timeline;

/// <summary>
/// A path switch as a sentence a user reads without knowing the protocol (docs/ui.md "Tunnel page"): what happened
/// to the old link, where the tunnel went, and how long traffic stood still, e.g. "wlan0 lost → moved to cell0 in 58 ms".
/// </summary>
public static class SwitchSentence
{
    public static string Describe(string from, string to, string reason, long gapMs)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(reason);
        string gap = "in " + Duration(gapMs);
        if (from.Length == 0)
        {
            return $"tunnel moved to {to} {gap}";
        }
        return reason switch
        {
            "TRANSPORT_DEAD_RECOVERY" => $"{from} lost → moved to {to} {gap}",
            "LOSS_RECOVERY" => $"{from} losing packets → moved to {to} {gap}",
            "PREFERRED_PATH_CHANGED" => $"{to} preferred → moved from {from} {gap}",
            "NAT_REBIND" => $"{from} address changed (NAT) → moved to {to} {gap}",
            "POLICY_FORCED" => $"policy moved the tunnel from {from} to {to} {gap}",
            _ => $"{from} → moved to {to} ({Readable(reason)}) {gap}",
        };
    }

    /// <summary>"58 ms" below ten seconds, "12.4 s" above.</summary>
    public static string Duration(long ms) =>
        ms < 10_000
            ? Math.Max(0, ms).ToString(CultureInfo.InvariantCulture) + " ms"
            : (ms / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s";

    /// <summary>"SWITCH_RATE_LIMITED" -> "switch rate limited"; empty stays empty.</summary>
    public static string Readable(string wireName)
    {
        ArgumentNullException.ThrowIfNull(wireName);
        return wireName.Replace('_', ' ').ToLowerInvariant();
    }
}
