using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// The WireGuard cross-platform userspace API text protocol, sans-I/O (wireguard.com/xplatform,
/// "Configuration Protocol"; wireguard-go device/uapi.go is the reference implementation).
/// </summary>
/// <remarks>
/// Framing, as wg(8) speaks it (wireguard-tools src/ipc-uapi.h):
/// <code>
///   request:  get=1\n\n                     or  set=1\n key=value\n ... \n
///   response: key=value\n ... errno=0\n\n   or  errno=N\n\n
/// </code>
/// One connection may carry several requests in a row. Keys are lower case; keys are 32-byte values in
/// lower-case hex; numbers are decimal. The file is split by direction: <c>UapiProtocol.Get.cs</c>
/// formats and parses get answers, <c>UapiProtocol.Set.cs</c> set requests.
/// </remarks>
public static partial class UapiProtocol
{
    public const string GetOperation = "get=1";
    public const string SetOperation = "set=1";

    /// <summary>Builds a complete response: <paramref name="payload"/> lines (may be empty), then
    /// <c>errno=N</c> and the blank line that ends the response.</summary>
    public static string FormatResponse(string payload, int errno)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var sb = new StringBuilder(payload.Length + 16);
        sb.Append(payload);
        if (payload.Length > 0 && payload[^1] != '\n')
        {
            sb.Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"errno={errno}\n\n");
        return sb.ToString();
    }

    /// <summary>Reads the value of the <c>errno=</c> line of a response; false when there is none.</summary>
    public static bool TryReadErrno(IEnumerable<string> responseLines, out int errno)
    {
        ArgumentNullException.ThrowIfNull(responseLines);
        foreach (string line in responseLines)
        {
            if (line.StartsWith("errno=", StringComparison.Ordinal))
            {
                return int.TryParse(line.AsSpan(6), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out errno);
            }
        }
        errno = 0;
        return false;
    }

    /// <summary>Splits "key=value" at the first '='; false when there is no '='.</summary>
    /// <summary>Describes a line without '=' by position and length only: its text may be a key.</summary>
    private static string NoEqualsSign(int lineNumber, string line) => $"line {lineNumber} is {ForLog(line)}";

    /// <summary>A request line for a log message: its key only, since a value may be a key.</summary>
    internal static string ForLog(string line)
    {
        int eq = line.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? $"a line without '=' ({line.Length} characters; not shown, it may hold a key)" : $"'{line[..eq]}=...'";
    }

    private static bool TrySplit(string line, out string key, out string value)
    {
        int eq = line.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            key = value = string.Empty;
            return false;
        }
        key = line[..eq];
        value = line[(eq + 1)..];
        return true;
    }

    private static bool IsAllZero(ReadOnlySpan<byte> key) => key.IndexOfAnyExcept((byte)0) < 0;
}
