using System.Net.Sockets;
using JumpingVpn.Platform.Net.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

public class UdpSocketOptionsTests
{
    [Fact]
    public void Ipv4InterfaceIndexIsInNetworkByteOrder()
    {
        var value = new byte[4];
        UdpSocketOptions.EncodeUnicastInterface(AddressFamily.InterNetwork, 0x0000000C, value);
        Assert.Equal([0, 0, 0, 12], value); // htonl(12): reads as 0.0.0.12, "an index" to the stack
        UdpSocketOptions.EncodeUnicastInterface(AddressFamily.InterNetwork, 0x01020304, value);
        Assert.Equal([1, 2, 3, 4], value);
        Assert.Equal(0, UdpSocketOptions.UnicastInterfaceLevel(AddressFamily.InterNetwork));
    }

    [Fact]
    public void Ipv6InterfaceIndexIsInHostOrder()
    {
        var value = new byte[4];
        UdpSocketOptions.EncodeUnicastInterface(AddressFamily.InterNetworkV6, 0x0000000C, value);
        Assert.Equal([12, 0, 0, 0], value);
        Assert.Equal(41, UdpSocketOptions.UnicastInterfaceLevel(AddressFamily.InterNetworkV6));
        Assert.Equal(31, UdpSocketOptions.UnicastIf);
    }

    [Fact]
    public void ZeroUnbindsAndOtherFamiliesAreRejected()
    {
        var value = new byte[] { 9, 9, 9, 9 };
        UdpSocketOptions.EncodeUnicastInterface(AddressFamily.InterNetwork, 0, value);
        Assert.Equal([0, 0, 0, 0], value);
        Assert.Throws<ArgumentException>(() => UdpSocketOptions.EncodeUnicastInterface(AddressFamily.Unix, 1, value));
    }

    [Fact]
    public void ConnResetControlCodeAndInput()
    {
        const uint iocIn = 0x80000000, iocVendor = 0x18000000;
        Assert.Equal(unchecked((int)(iocIn | iocVendor | 12)), UdpSocketOptions.SioUdpConnReset);
        Assert.Equal(-1744830452, UdpSocketOptions.SioUdpConnReset);
        var input = new byte[] { 1, 1, 1, 1 };
        UdpSocketOptions.EncodeConnectionResetOff(input);
        Assert.Equal([0, 0, 0, 0], input); // BOOL FALSE
    }
}
