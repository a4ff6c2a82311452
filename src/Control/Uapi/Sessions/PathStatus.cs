using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// One client path in a <c>jvpn_session=1</c> reply, on the wire as
/// <c>path=IFACE,LOCAL_ADDRESS,ROLE,STATE,RTT_MS,LOSS,LAST_REPLY_AGE_MS,PRIORITY</c>.
/// </summary>
/// <param name="Role">active, pending or candidate.</param>
/// <param name="RttMs">Smoothed RTT; negative when no reply was measured yet (written as -1).</param>
/// <param name="Loss">Loss fraction 0..1, written with two decimals.</param>
/// <param name="LastReplyAgeMs">Age of the last authenticated reply, -1 for none.</param>
public readonly record struct PathStatus(string Interface, string LocalAddress, string Role, string State,
    double RttMs, double Loss, long LastReplyAgeMs, int Priority)
{
    internal const string Key = "path";
    private const int Fields = 8;

    internal void Write(StringBuilder sb) =>
        sb.Append(CultureInfo.InvariantCulture,
            $"{Key}={Interface},{LocalAddress},{Role},{State},{(RttMs < 0 ? -1 : Math.Round(RttMs, 1))},{Loss:0.00},{LastReplyAgeMs},{Priority}\n");

    /// <summary>Parses a path value; fields a newer peer appends after the known eight are ignored.</summary>
    public static bool TryParse(string value, out PathStatus path)
    {
        ArgumentNullException.ThrowIfNull(value);
        path = default;
        string[] f = value.Split(',');
        var inv = CultureInfo.InvariantCulture;
        if (f.Length < Fields
            || !double.TryParse(f[4], NumberStyles.Float, inv, out double rtt)
            || !double.TryParse(f[5], NumberStyles.Float, inv, out double loss)
            || !long.TryParse(f[6], NumberStyles.Integer, inv, out long age)
            || !int.TryParse(f[7], NumberStyles.Integer, inv, out int priority))
        {
            return false;
        }
        path = new PathStatus(f[0], f[1], f[2], f[3], rtt, loss, age, priority);
        return true;
    }
}
