using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// The <c>jvpn_sessions=1</c> UAPI extension's request (docs/design.md §7 "Session listing"): one page of a
/// server's sessions, <c>search=</c> (optional), <c>offset=</c> and <c>limit=</c> lines, then the blank line.
/// Both ends use this type, so the limits below are checked once, the same way, by the CLI, the UI and the daemon.
/// </summary>
public sealed record SessionPageRequest
{
    public const string Operation = "jvpn_sessions=1";

    /// <summary>Rows a page may ask for; more than a screen needs, small enough that a reply stays a few tens of KB.</summary>
    public const int MaxLimit = 500;

    public const int DefaultLimit = 50;

    /// <summary>A public key in base64 is 44 characters, an IPv6 endpoint with port up to 47; 128 leaves room and bounds the work.</summary>
    public const int MaxSearchLength = 128;

    /// <summary>Offsets beyond any table a server can hold (docs/scaling.md) are refused rather than scanned.</summary>
    public const int MaxOffset = 10_000_000;

    /// <summary>Matched against the start of the public key (base64, or hex in any case), the session id, an inner
    /// address or the endpoint; empty matches every session.</summary>
    public string Search { get; init; } = "";

    public int Offset { get; init; }

    public int Limit { get; init; } = DefaultLimit;

    /// <summary>Why these values cannot be asked for, or null: one line naming the value and the allowed range.</summary>
    public static string? Problem(string? search, long offset, long limit)
    {
        if (search is not null && search.Length > MaxSearchLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the search text is {search.Length} characters long; at most {MaxSearchLength} are allowed (a key, session id, address or endpoint)");
        }
        if (search is not null && search.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0)
        {
            return "the search text contains a control character (line break, tab...); search for a key, session id, address or endpoint";
        }
        if (offset < 0 || offset > MaxOffset)
        {
            return string.Create(CultureInfo.InvariantCulture, $"offset {offset} is outside 0..{MaxOffset}");
        }
        if (limit < 1 || limit > MaxLimit)
        {
            return string.Create(CultureInfo.InvariantCulture, $"limit {limit} is outside 1..{MaxLimit}");
        }
        return null;
    }

    /// <summary>The complete request text, blank line included.</summary>
    public string Format()
    {
        string? problem = Problem(Search, Offset, Limit);
        if (problem is not null)
        {
            throw new ArgumentException(problem);
        }
        var sb = new StringBuilder(Operation).Append('\n');
        if (Search.Length > 0)
        {
            sb.Append("search=").Append(Search).Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"offset={Offset}\nlimit={Limit}\n\n");
        return sb.ToString();
    }

    /// <summary>Parses the body lines (after the operation line); false with a reason for anything out of range or unknown.</summary>
    public static bool TryParse(IReadOnlyList<string> body, out SessionPageRequest request, out string error)
    {
        ArgumentNullException.ThrowIfNull(body);
        request = new SessionPageRequest();
        string search = "";
        long offset = 0;
        long limit = DefaultLimit;
        foreach (string line in body)
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? line : line[..eq];
            string value = eq < 0 ? "" : line[(eq + 1)..];
            switch (key)
            {
                case "search":
                    search = value;
                    break;
                case "offset" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long o):
                    offset = o;
                    break;
                case "limit" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long l):
                    limit = l;
                    break;
                default:
                    error = $"unexpected line {UapiProtocol.ForLog(line)} in {Operation}";
                    return false;
            }
        }
        string? problem = Problem(search, offset, limit);
        if (problem is not null)
        {
            error = problem;
            return false;
        }
        request = new SessionPageRequest { Search = search, Offset = (int)offset, Limit = (int)limit };
        error = "";
        return true;
    }
}
