using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>
/// Windows-only options for the encrypted UDP sockets (docs/platform.md §3.2, after wireguard-go
/// conn/bind_windows.go and Tailscale net/netns/netns_windows.go):
/// IP_UNICAST_IF / IPV6_UNICAST_IF pin outbound packets to a physical interface so they never loop into the
/// tunnel's default route, and SIO_UDP_CONNRESET off stops an ICMP port-unreachable from failing the next
/// receive with WSAECONNRESET (10054). The byte encodings are pure functions so they can be tested anywhere.
/// </summary>
public static class UdpSocketOptions
{
    /// <summary>IPPROTO_IP.</summary>
    public const int IpProtoIp = 0;

    /// <summary>IPPROTO_IPV6.</summary>
    public const int IpProtoIpv6 = 41;

    /// <summary>IP_UNICAST_IF and IPV6_UNICAST_IF (both 31, ws2ipdef.h).</summary>
    public const int UnicastIf = 31;

    /// <summary>SIO_UDP_CONNRESET = _WSAIOW(IOC_VENDOR, 12) = IOC_IN (0x80000000) | IOC_VENDOR (0x18000000) | 12.</summary>
    public const int SioUdpConnReset = unchecked((int)0x9800000C);

    /// <summary>
    /// The IP_UNICAST_IF / IPV6_UNICAST_IF option value for <paramref name="interfaceIndex"/> (0 = unbind).
    /// IPv4 takes the index in network byte order (the stack reads a value in 0.0.0.0/8 as an index, per the
    /// IP_UNICAST_IF documentation); IPv6 takes it in host order (little-endian on every Windows target).
    /// </summary>
    public static void EncodeUnicastInterface(AddressFamily family, uint interfaceIndex, Span<byte> value)
    {
        if (family == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt32BigEndian(value, interfaceIndex);
        }
        else if (family == AddressFamily.InterNetworkV6)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(value, interfaceIndex);
        }
        else
        {
            throw new ArgumentException($"IP_UNICAST_IF applies to IPv4/IPv6 sockets, not {family}.", nameof(family));
        }
    }

    /// <summary>The option level for a socket of <paramref name="family"/>.</summary>
    public static int UnicastInterfaceLevel(AddressFamily family) =>
        family == AddressFamily.InterNetworkV6 ? IpProtoIpv6 : IpProtoIp;

    /// <summary>The SIO_UDP_CONNRESET input: a 4-byte BOOL, FALSE = do not report ICMP port-unreachable.</summary>
    public static void EncodeConnectionResetOff(Span<byte> value) => BinaryPrimitives.WriteInt32LittleEndian(value, 0);

    /// <summary>Pins outbound traffic of <paramref name="socket"/> to the interface with
    /// <paramref name="interfaceIndex"/> (0 removes the binding). A dual-mode IPv6 socket needs both options;
    /// this sets the one matching its address family, plus IPv4 when it is dual-mode.</summary>
    [SupportedOSPlatform("windows")]
    public static void BindToInterface(Socket socket, uint interfaceIndex)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[4];
        EncodeUnicastInterface(socket.AddressFamily, interfaceIndex, value);
        socket.SetRawSocketOption(UnicastInterfaceLevel(socket.AddressFamily), UnicastIf, value);
        if (socket.AddressFamily == AddressFamily.InterNetworkV6 && socket.DualMode)
        {
            EncodeUnicastInterface(AddressFamily.InterNetwork, interfaceIndex, value);
            socket.SetRawSocketOption(IpProtoIp, UnicastIf, value);
        }
    }

    /// <summary>Turns SIO_UDP_CONNRESET off on a UDP socket.</summary>
    [SupportedOSPlatform("windows")]
    public static void DisableConnectionReset(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        byte[] input = new byte[4];
        EncodeConnectionResetOff(input);
        socket.IOControl(SioUdpConnReset, input, null);
    }
}
