using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// Converts between configuration endpoints and the SocketAddress values the packet path compares and
/// sends to without allocating. A dual-mode (IPv6) socket needs IPv4 peers as v4-mapped addresses.
/// </summary>
public static class EndpointCodec
{
    public static SocketAddress ToSocketAddress(IPEndPoint endpoint, bool dualMode)
    {
        IPAddress address = endpoint.Address;
        if (dualMode && address.AddressFamily == AddressFamily.InterNetwork)
        {
            address = address.MapToIPv6();
        }
        return new IPEndPoint(address, endpoint.Port).Serialize();
    }

    /// <summary>For display and UAPI: v4-mapped addresses are shown as plain IPv4, as wg(8) does.</summary>
    public static IPEndPoint ToIPEndPoint(SocketAddress address)
    {
        var template = new IPEndPoint(address.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        var ep = (IPEndPoint)template.Create(address);
        if (ep.Address.IsIPv4MappedToIPv6)
        {
            ep = new IPEndPoint(ep.Address.MapToIPv4(), ep.Port);
        }
        return ep;
    }

    /// <summary>Copies a receive buffer's address so the peer can keep it after the buffer is reused.</summary>
    public static SocketAddress Copy(SocketAddress source)
    {
        var copy = new SocketAddress(source.Family, source.Size);
        source.Buffer.Span[..source.Size].CopyTo(copy.Buffer.Span);
        return copy;
    }

    /// <summary>The IP bytes of an address (for cookies and rate limiting), written into <paramref name="destination"/>.</summary>
    public static int WriteAddressBytes(SocketAddress address, Span<byte> destination, bool includePort)
    {
        ReadOnlySpan<byte> raw = address.Buffer.Span;
        int n;
        if (address.Family == AddressFamily.InterNetworkV6)
        {
            // sockaddr_in6: family(2) port(2) flowinfo(4) addr(16). A v4-mapped address is reported as
            // its 4 IPv4 bytes so per-source limits treat IPv4 clients on a dual-mode socket individually.
            ReadOnlySpan<byte> v6 = raw.Slice(8, 16);
            if (v6[..10].IndexOfAnyExcept((byte)0) < 0 && v6[10] == 0xFF && v6[11] == 0xFF)
            {
                v6[12..].CopyTo(destination);
                n = 4;
            }
            else
            {
                v6.CopyTo(destination);
                n = 16;
            }
        }
        else
        {
            // sockaddr_in: family(2) port(2) addr(4)
            raw.Slice(4, 4).CopyTo(destination);
            n = 4;
        }
        if (includePort)
        {
            raw.Slice(2, 2).CopyTo(destination[n..]);
            n += 2;
        }
        return n;
    }
}
