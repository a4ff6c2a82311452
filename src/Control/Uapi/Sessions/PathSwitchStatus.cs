using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>One recent path switch in a <c>jvpn_session=1</c> reply: <c>path_switch=AGE_MS,FROM,TO,REASON,GAP_MS</c>.</summary>
public readonly record struct PathSwitchStatus(long AgeMs, string From, string To, string Reason, long GapMs)
{
    internal const string Key = "path_switch";
    private const int Fields = 5;

    internal void Write(StringBuilder sb) =>
        sb.Append(CultureInfo.InvariantCulture, $"{Key}={AgeMs},{From},{To},{Reason},{GapMs}\n");

    /// <summary>Parses a path_switch value; fields a newer peer appends after the known five are ignored.</summary>
    public static bool TryParse(string value, out PathSwitchStatus record)
    {
        ArgumentNullException.ThrowIfNull(value);
        record = default;
        string[] f = value.Split(',');
        var inv = CultureInfo.InvariantCulture;
        if (f.Length < Fields
            || !long.TryParse(f[0], NumberStyles.Integer, inv, out long age)
            || !long.TryParse(f[4], NumberStyles.Integer, inv, out long gap))
        {
            return false;
        }
        record = new PathSwitchStatus(age, f[1], f[2], f[3], gap);
        return true;
    }
}
