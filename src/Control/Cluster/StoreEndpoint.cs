using System.Globalization;

namespace JumpingVpn.Control.Cluster;

/// <summary>One member of a store URL: `HOST[:PORT]`, or `[IPv6]:PORT` (docs/cluster.md "Configuration").</summary>
public readonly record struct StoreEndpoint(string Host, int Port)
{
    /// <summary>Parses one member; false for an empty host, a port outside 1-65535 or stray characters.</summary>
    public static bool TryParse(string text, int defaultPort, out StoreEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(text);
        endpoint = default;
        string host = text;
        string? port = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !System.Net.IPAddress.TryParse(text[1..close], out _))
            {
                return false;
            }
            host = text[1..close];
            string after = text[(close + 1)..];
            if (after.Length > 0)
            {
                if (!after.StartsWith(':'))
                {
                    return false;
                }
                port = after[1..];
            }
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon >= 0)
            {
                host = text[..colon];
                port = text[(colon + 1)..];
            }
            // A host name or IPv4 address: letters, digits, dots, hyphens (no path, no user, no spaces).
            foreach (char c in host)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                {
                    return false;
                }
            }
        }
        int p = defaultPort;
        if (host.Length == 0 || (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out p) || p is < 1 or > 65535)))
        {
            return false;
        }
        endpoint = new StoreEndpoint(host, p);
        return true;
    }

    /// <summary>`host:port`, `[v6]:port` for an IPv6 address.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Host.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host)}:{Port}");
}
