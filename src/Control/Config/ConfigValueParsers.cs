using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Config;

/// <summary>
/// Parsers for single values, each returning false plus a message that says what is wrong and how to fix
/// it. Acceptance follows the tool that consumes the key under wg-quick: wg(8) config.c for the wg keys,
/// `ip address`/resolvconf for Address/DNS.
/// </summary>
internal static class ConfigValueParsers
{
    // Whitespace as C isspace()/bash [[:space:]] define it; wg(8) deletes every one of these from a line.
    internal static bool IsConfigSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    internal static string TrimSpace(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsConfigSpace(s[start]))
        {
            start++;
        }
        while (end > start && IsConfigSpace(s[end - 1]))
        {
            end--;
        }
        return s[start..end];
    }

    internal static string RemoveSpace(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (!IsConfigSpace(c))
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>wg-quick expands `${value//,/ }` unquoted: entries split on commas and whitespace, empties dropped.</summary>
    internal static string[] SplitWords(string value) =>
        value.Split([',', ' ', '\t', '\n', '\v', '\f', '\r'], StringSplitOptions.RemoveEmptyEntries);

    internal static bool TryParseKey(string value, string tool, [NotNullWhen(true)] out byte[]? key, out string error)
    {
        error = "";
        if (WireGuardKey.TryParseBase64(value, out key))
        {
            return true;
        }
        // The value is not echoed: it may be a (mistyped) private key.
        error = $"must be a 44-character base64 key as printed by `{tool}` (got {value.Length.ToString(CultureInfo.InvariantCulture)} characters"
            + (value.Length == WireGuardKey.Base64Length ? " that are not a valid key" : "") + ")";
        return false;
    }

    /// <summary>Digits only (wg(8) uses strtoul after checking the first character is a digit).</summary>
    internal static bool TryParseDigits(string value, ulong max, out ulong result)
    {
        result = 0;
        if (value.Length == 0)
        {
            return false;
        }
        foreach (char c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            result = (result * 10) + (ulong)(c - '0');
            if (result > max)
            {
                return false;
            }
        }
        return true;
    }

    internal static bool TryParseListenPort(string value, out int port, out string error)
    {
        port = 0;
        error = "";
        if (TryParseDigits(value, 65535, out ulong p))
        {
            port = (int)p;
            return true;
        }
        error = $"`{value}` is not a port number; use 1..65535, or 0 to pick a random port";
        return false;
    }

    /// <summary>wg(8) parse_fwmark: "off", decimal, or 0x-prefixed hex, at most 0xffffffff.</summary>
    internal static bool TryParseFwMark(string value, out uint mark, out string error)
    {
        mark = 0;
        error = "";
        if (string.Equals(value, "off", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (value.Length > 2 && value[0] == '0' && value[1] == 'x')
        {
            if (uint.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out mark))
            {
                return true;
            }
        }
        else if (TryParseDigits(value, uint.MaxValue, out ulong m))
        {
            mark = (uint)m;
            return true;
        }
        error = $"`{value}` is neither `off` nor a number 0..0xffffffff";
        return false;
    }

    internal static bool TryParseKeepalive(string value, out int seconds, out string error)
    {
        seconds = 0;
        error = "";
        if (string.Equals(value, "off", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (TryParseDigits(value, 65535, out ulong s))
        {
            seconds = (int)s;
            return true;
        }
        error = $"`{value}` is neither `off` nor a number of seconds 0..65535 (25 is the usual choice behind NAT)";
        return false;
    }

    internal static bool TryParseMtu(string value, out int mtu, out string error)
    {
        mtu = 0;
        error = "";
        if (TryParseDigits(value, 65535, out ulong m))
        {
            mtu = (int)m;
            return true;
        }
        error = $"`{value}` is not a number; use 1280..65535 (576..65535 for an IPv4-only interface), or leave MTU out to pick it automatically";
        return false;
    }

    /// <summary>
    /// A strict address like inet_pton(3): IPv4 only as four decimal octets (no "10.1" shorthand, no
    /// leading zeros, which some tools read as octal), IPv6 without brackets or zone.
    /// </summary>
    internal static bool TryParseStrictAddress(string text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return !text.Contains('%', StringComparison.Ordinal) && !text.Contains('[', StringComparison.Ordinal)
                && IPAddress.TryParse(text, out address) && address.AddressFamily == AddressFamily.InterNetworkV6;
        }
        Span<byte> bytes = stackalloc byte[4];
        int part = 0;
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != '.')
            {
                continue;
            }
            ReadOnlySpan<char> octet = text.AsSpan(start, i - start);
            if (part == 4 || octet.Length is 0 or > 3 || (octet.Length > 1 && octet[0] == '0')
                || !TryParseDigits(octet.ToString(), 255, out ulong v))
            {
                return false;
            }
            bytes[part++] = (byte)v;
            start = i + 1;
        }
        if (part != 4)
        {
            return false;
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>"addr/len" or "addr" (host prefix); returns the length as written (host bits not touched).</summary>
    internal static bool TryParseAddressAndLength(string text, [NotNullWhen(true)] out IPAddress? address, out int length)
    {
        length = 0;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!TryParseStrictAddress(slash < 0 ? text : text[..slash], out address))
        {
            return false;
        }
        int max = IpPrefix.MaxLength(address.AddressFamily);
        if (slash < 0)
        {
            length = max;
            return true;
        }
        if (!TryParseDigits(text[(slash + 1)..], (ulong)max, out ulong l))
        {
            address = null;
            return false;
        }
        length = (int)l;
        return true;
    }

    internal static bool TryParseInterfaceAddress(string text, out InterfaceAddress result, out string error)
    {
        result = default;
        error = "";
        if (TryParseAddressAndLength(text, out IPAddress? address, out int length))
        {
            result = new InterfaceAddress(address, length);
            return true;
        }
        error = $"`{text}` is not an IP address with optional /prefix-length (e.g. 10.0.0.2/24 or fd00::2/64)";
        return false;
    }

    /// <summary>
    /// wg-quick: a DNS entry made only of digits and dots, or containing a colon, is a nameserver;
    /// anything else is a search domain.
    /// </summary>
    internal static bool LooksLikeAddress(string entry)
    {
        if (entry.Contains(':', StringComparison.Ordinal))
        {
            return true;
        }
        foreach (char c in entry)
        {
            if (!char.IsAsciiDigit(c) && c != '.')
            {
                return false;
            }
        }
        return entry.Length > 0;
    }

    internal static bool TryParseDnsServer(string entry, [NotNullWhen(true)] out IPAddress? address, out string error)
    {
        error = "";
        // A zone ("fe80::1%eth0") is fine in resolv.conf, so allow it for IPv6 here.
        if (entry.Contains(':', StringComparison.Ordinal) && !entry.Contains('[', StringComparison.Ordinal)
            && IPAddress.TryParse(entry, out address) && address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return true;
        }
        if (TryParseStrictAddress(entry, out address))
        {
            return true;
        }
        error = $"`{entry}` looks like an IP address but is not one (a DNS entry with only digits and dots, or with a colon, is taken as a server address; anything else as a search domain)";
        return false;
    }

    /// <summary>
    /// wg(8) parse_endpoint: "[host]:port" or "host:port" split at the last colon, so an unbracketed IPv6
    /// literal still works ("fd00::1:51820" is fd00::1 port 51820). The port must be numeric here; wg's
    /// getaddrinfo would also take a service name, which nobody uses for WireGuard.
    /// </summary>
    internal static bool TryParseEndpoint(string value, [NotNullWhen(true)] out ConfigEndpoint? endpoint, out string error)
    {
        endpoint = null;
        error = "";
        const string Hint = "use host:port, 192.0.2.1:51820 or [2001:db8::1]:51820";
        string host;
        string port;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"`{value}` has no `]` to close the IPv6 address; {Hint}";
                return false;
            }
            host = value[1..close];
            if (close + 1 >= value.Length || value[close + 1] != ':' || close + 2 >= value.Length)
            {
                error = $"`{value}` has no port; {Hint}";
                return false;
            }
            port = value[(close + 2)..];
        }
        else
        {
            int colon = value.LastIndexOf(':');
            if (colon < 0 || colon == value.Length - 1)
            {
                error = $"`{value}` has no port; {Hint}";
                return false;
            }
            host = value[..colon];
            port = value[(colon + 1)..];
        }
        if (!TryParseDigits(port, 65535, out ulong p) || p == 0)
        {
            error = $"port `{port}` in `{value}` is not a number 1..65535";
            return false;
        }
        if (host.Length == 0)
        {
            error = $"`{value}` has no host; {Hint}";
            return false;
        }
        // Literals as getaddrinfo(3) reads them (so also inet_aton forms and IPv6 zones).
        if (IPAddress.TryParse(host, out IPAddress? literal)
            && literal.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
        {
            endpoint = new ConfigEndpoint(literal.ToString(), (int)p, isLiteral: true);
            return true;
        }
        if (!IsHostName(host))
        {
            error = $"`{host}` is neither an IP address nor a host name; {Hint}";
            return false;
        }
        endpoint = new ConfigEndpoint(host, (int)p, isLiteral: false);
        return true;
    }

    /// <summary>RFC 1123 §2.1 host name characters (plus '_', which resolvers pass through), at most 253.</summary>
    private static bool IsHostName(string host)
    {
        if (host.Length > 253 || host.StartsWith('.') || host.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (char c in host)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.' or '_'))
            {
                return false;
            }
        }
        return true;
    }
}
