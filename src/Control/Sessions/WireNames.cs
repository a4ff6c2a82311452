using System.Text;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// UPPER_SNAKE spellings of the enums (docs/session-spec.md §6.1 [R]: UPPER_SNAKE for event types, states and
/// reason codes). Built once from the PascalCase member names so the two can never drift; lookups after
/// that are array reads and allocate nothing.
/// </summary>
public static class WireNames
{
    private static readonly string[] s_reasons = Table<ReasonCode>();
    private static readonly string[] s_states = Table<SessionState>();
    private static readonly string[] s_events = Table<AuditEventType>();

    public static string Of(ReasonCode code) => Lookup(s_reasons, (int)code);

    public static string Of(SessionState state) => Lookup(s_states, (int)state);

    public static string Of(AuditEventType type) => Lookup(s_events, (int)type);

    /// <summary>True for a reason code this build knows (frames carrying anything else are malformed).</summary>
    public static bool IsDefined(ReasonCode code) => (int)code < s_reasons.Length && s_reasons[(int)code] is not null;

    /// <summary>"SessionTtlExpired" -> "SESSION_TTL_EXPIRED".</summary>
    internal static string ToUpperSnake(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (i > 0 && char.IsAsciiLetterUpper(c))
            {
                sb.Append('_');
            }
            sb.Append(char.ToUpperInvariant(c));
        }
        return sb.ToString();
    }

    private static string Lookup(string[] table, int index) =>
        (uint)index < (uint)table.Length && table[index] is { } s ? s : "UNKNOWN";

    private static string[] Table<TEnum>()
        where TEnum : struct, Enum
    {
        TEnum[] values = Enum.GetValues<TEnum>();
        int max = 0;
        foreach (TEnum v in values)
        {
            max = Math.Max(max, Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture));
        }
        string[] table = new string[max + 1];
        foreach (TEnum v in values)
        {
            table[Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)] = ToUpperSnake(v.ToString());
        }
        return table;
    }
}
