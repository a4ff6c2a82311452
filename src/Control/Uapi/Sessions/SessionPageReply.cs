using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// The answer to <see cref="SessionPageRequest"/>: <c>total=</c> (server sessions in the table),
/// <c>matched=</c> (those the search matched), <c>offset=</c>, then one <see cref="SessionPageRow"/> block per
/// session of the page in the listing's order (public key, ascending), then <c>errno=0</c>.
/// </summary>
public sealed record SessionPageReply(int Total, int Matched, int Offset, IReadOnlyList<SessionPageRow> Rows)
{
    /// <summary>The reply payload (without the errno line).</summary>
    public string Format()
    {
        var sb = new StringBuilder(128 + Rows.Count * 256);
        sb.Append(CultureInfo.InvariantCulture, $"total={Total}\nmatched={Matched}\noffset={Offset}\n");
        foreach (SessionPageRow row in Rows)
        {
            row.Write(sb);
        }
        return sb.ToString();
    }

    /// <summary>Decodes a complete reply; false (and null) for a reply without <c>errno=0</c> or with a malformed value.</summary>
    public static bool TryParse(string reply, out SessionPageReply? page)
    {
        ArgumentNullException.ThrowIfNull(reply);
        page = null;
        if (!reply.Contains("\nerrno=0", StringComparison.Ordinal) && !reply.StartsWith("errno=0", StringComparison.Ordinal))
        {
            return false;
        }
        var inv = CultureInfo.InvariantCulture;
        int total = -1, matched = -1, offset = -1;
        var rows = new List<SessionPageRow>();
        SessionPageRow? current = null;
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            string key = line[..eq];
            string value = line[(eq + 1)..];
            switch (key)
            {
                case "errno":
                    continue;
                case "total" when current is null:
                    if (!int.TryParse(value, NumberStyles.Integer, inv, out total))
                    {
                        return false;
                    }
                    continue;
                case "matched" when current is null:
                    if (!int.TryParse(value, NumberStyles.Integer, inv, out matched))
                    {
                        return false;
                    }
                    continue;
                case "offset" when current is null:
                    if (!int.TryParse(value, NumberStyles.Integer, inv, out offset))
                    {
                        return false;
                    }
                    continue;
                case "public_key":
                    if (current is not null)
                    {
                        rows.Add(current);
                    }
                    current = new SessionPageRow(value, "", "", 0, "", "", -1, "");
                    continue;
            }
            if (current is not null && !SessionPageRow.Apply(ref current, key, value))
            {
                return false;
            }
        }
        if (current is not null)
        {
            rows.Add(current);
        }
        if (total < 0 || matched < 0 || offset < 0)
        {
            return false;
        }
        page = new SessionPageReply(total, matched, offset, rows);
        return true;
    }
}
