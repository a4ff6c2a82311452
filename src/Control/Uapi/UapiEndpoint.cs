using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// The UAPI endpoint syntax: <c>IP:port</c> for IPv4 and <c>[IP]:port</c> for IPv6 (xplatform, key
/// "endpoint"). Only numeric addresses: wg(8) resolves host names before it sends them.
/// </summary>
public static class UapiEndpoint
{
    public static bool TryParse(string? text, [NotNullWhen(true)] out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        string host;
        string port;
        if (text[0] == '[')
        {
            int close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }
            host = text[1..close];
            port = text[(close + 2)..];
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                return false;
            }
            host = text[..colon];
            port = text[(colon + 1)..];
        }

        if (!IPAddress.TryParse(host, out IPAddress? address)
            || !ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out ushort portNumber))
        {
            return false;
        }
        // Brackets exactly when the address is IPv6, as netip.ParseAddrPort in wireguard-go insists.
        bool bracketed = text[0] == '[';
        if (bracketed != (address.AddressFamily == AddressFamily.InterNetworkV6)
            || (!bracketed && host.Contains(':', StringComparison.Ordinal)))
        {
            return false;
        }
        endpoint = new IPEndPoint(address, portNumber);
        return true;
    }

    public static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $"[{endpoint.Address}]:{endpoint.Port}")
            : string.Create(CultureInfo.InvariantCulture, $"{endpoint.Address}:{endpoint.Port}");
}
