using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Windows;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>
/// x64 sizes and offsets of the IP Helper rows. Source: docs/platform.md §3.1 (sizes and key offsets,
/// checked there against wireguard-windows tunnel/winipcfg/types_test_64.go); the remaining offsets follow
/// from netioapi.h's field order with natural alignment (BOOLEAN = 1 byte, enums/ULONG = 4, NET_LUID = 8).
/// </summary>
public class IpHelperLayoutTests
{
    private static int Off<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void SockAddrInet()
    {
        Assert.Equal(28, Unsafe.SizeOf<SockAddrInet>());
        Assert.Equal(28, Marshal.SizeOf<SockAddrInet>());
        Assert.Equal(0, Off<SockAddrInet>(nameof(JumpingVpn.Platform.Interop.Windows.SockAddrInet.Family)));
        Assert.Equal(2, Off<SockAddrInet>(nameof(JumpingVpn.Platform.Interop.Windows.SockAddrInet.PortNetworkOrder)));
        Assert.Equal(4, Off<SockAddrInet>(nameof(JumpingVpn.Platform.Interop.Windows.SockAddrInet.Ipv4Address)));
        Assert.Equal(8, Off<SockAddrInet>(nameof(JumpingVpn.Platform.Interop.Windows.SockAddrInet.Ipv6Address)));
        Assert.Equal(24, Off<SockAddrInet>(nameof(JumpingVpn.Platform.Interop.Windows.SockAddrInet.Ipv6ScopeId)));
    }

    [Fact]
    public void IpAddressPrefix()
    {
        Assert.Equal(32, Unsafe.SizeOf<IpAddressPrefix>());
        Assert.Equal(28, Off<IpAddressPrefix>(nameof(JumpingVpn.Platform.Interop.Windows.IpAddressPrefix.PrefixLength)));
    }

    [Fact]
    public void MibUnicastIpAddressRow()
    {
        Assert.Equal(80, Unsafe.SizeOf<MibUnicastIpAddressRow>());
        Assert.Equal(80, Marshal.SizeOf<MibUnicastIpAddressRow>());
        Assert.Equal(0, Off<MibUnicastIpAddressRow>("Address"));
        Assert.Equal(32, Off<MibUnicastIpAddressRow>("InterfaceLuid"));
        Assert.Equal(40, Off<MibUnicastIpAddressRow>("InterfaceIndex"));
        Assert.Equal(60, Off<MibUnicastIpAddressRow>("OnLinkPrefixLength"));
        Assert.Equal(61, Off<MibUnicastIpAddressRow>("SkipAsSource"));
        Assert.Equal(64, Off<MibUnicastIpAddressRow>("DadState"));
        Assert.Equal(72, Off<MibUnicastIpAddressRow>("CreationTimeStamp"));
    }

    [Fact]
    public void MibIpForwardRow2()
    {
        Assert.Equal(104, Unsafe.SizeOf<MibIpForwardRow2>());
        Assert.Equal(104, Marshal.SizeOf<MibIpForwardRow2>());
        Assert.Equal(0, Off<MibIpForwardRow2>("InterfaceLuid"));
        Assert.Equal(8, Off<MibIpForwardRow2>("InterfaceIndex"));
        Assert.Equal(12, Off<MibIpForwardRow2>("DestinationPrefix"));
        Assert.Equal(44, Off<MibIpForwardRow2>("NextHop"));
        Assert.Equal(72, Off<MibIpForwardRow2>("SitePrefixLength"));
        Assert.Equal(84, Off<MibIpForwardRow2>("Metric"));
        Assert.Equal(88, Off<MibIpForwardRow2>("Protocol"));
        Assert.Equal(92, Off<MibIpForwardRow2>("Loopback"));
        Assert.Equal(100, Off<MibIpForwardRow2>("Origin"));
    }

    [Fact]
    public void MibIpInterfaceRow()
    {
        Assert.Equal(168, Unsafe.SizeOf<MibIpInterfaceRow>());
        Assert.Equal(168, Marshal.SizeOf<MibIpInterfaceRow>());
        Assert.Equal(0, Off<MibIpInterfaceRow>("Family"));
        Assert.Equal(8, Off<MibIpInterfaceRow>("InterfaceLuid"));
        Assert.Equal(16, Off<MibIpInterfaceRow>("InterfaceIndex"));
        Assert.Equal(40, Off<MibIpInterfaceRow>("AdvertisingEnabled"));
        Assert.Equal(44, Off<MibIpInterfaceRow>("UseAutomaticMetric"));
        Assert.Equal(52, Off<MibIpInterfaceRow>("RouterDiscoveryBehavior"));
        Assert.Equal(56, Off<MibIpInterfaceRow>("DadTransmits"));
        Assert.Equal(80, Off<MibIpInterfaceRow>("ZoneIndices"));
        Assert.Equal(144, Off<MibIpInterfaceRow>("SitePrefixLength"));
        Assert.Equal(148, Off<MibIpInterfaceRow>("Metric"));
        Assert.Equal(152, Off<MibIpInterfaceRow>("NlMtu"));
        Assert.Equal(156, Off<MibIpInterfaceRow>("Connected"));
        Assert.Equal(166, Off<MibIpInterfaceRow>("DisableDefaultRoutes"));
    }

    [Fact]
    public void DnsInterfaceSettings()
    {
        Assert.Equal(64, Unsafe.SizeOf<DnsInterfaceSettings>());
        Assert.Equal(8, Off<DnsInterfaceSettings>("Flags"));
        Assert.Equal(24, Off<DnsInterfaceSettings>("NameServer"));
        Assert.Equal(32, Off<DnsInterfaceSettings>("SearchList"));
        Assert.Equal(56, Off<DnsInterfaceSettings>("ProfileNameServer"));
    }

    [Fact]
    public void RowsAreBlittable()
    {
        // LibraryImport passes them as raw pointers: no marshalling may be involved.
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<MibUnicastIpAddressRow>());
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<MibIpForwardRow2>());
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<MibIpInterfaceRow>());
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<DnsInterfaceSettings>());
    }

    [Theory]
    [InlineData(nameof(IpHelper.InitializeUnicastIpAddressEntry))]
    [InlineData(nameof(IpHelper.CreateUnicastIpAddressEntry))]
    [InlineData(nameof(IpHelper.InitializeIpForwardEntry))]
    [InlineData(nameof(IpHelper.CreateIpForwardEntry2))]
    [InlineData(nameof(IpHelper.InitializeIpInterfaceEntry))]
    [InlineData(nameof(IpHelper.GetIpInterfaceEntry))]
    [InlineData(nameof(IpHelper.SetIpInterfaceEntry))]
    [InlineData(nameof(IpHelper.ConvertInterfaceAliasToLuid))]
    [InlineData(nameof(IpHelper.ConvertInterfaceLuidToGuid))]
    [InlineData(nameof(IpHelper.SetInterfaceDnsSettings))]
    public void IpHelperImportsNameTheExportAndReturnTheStatus(string method)
    {
        MethodInfo m = typeof(IpHelper).GetMethod(method, BindingFlags.Static | BindingFlags.NonPublic)!;
        LibraryImportAttribute a = m.GetCustomAttribute<LibraryImportAttribute>()!;
        Assert.Equal("iphlpapi.dll", a.LibraryName);
        Assert.Equal(method, a.EntryPoint);
        Assert.False(a.SetLastError); // NETIO_STATUS is returned, not set
        if (Array.Exists(m.GetParameters(), p => p.ParameterType == typeof(string)))
        {
            Assert.Equal(StringMarshalling.Utf16, a.StringMarshalling);
        }
        // GUID by value for SetInterfaceDnsSettings (netioapi.h), not a pointer.
        if (method == nameof(IpHelper.SetInterfaceDnsSettings))
        {
            Assert.Equal(typeof(Guid), m.GetParameters()[0].ParameterType);
        }
    }
}

public class IpHelperConfiguratorTests
{
    [Fact]
    public unsafe void AddressRowCarriesTheAddressLuidPrefixAndPreferredDadState()
    {
        MibUnicastIpAddressRow row = default;
        IpHelperConfigurator.FillAddressRow(ref row, 0xAABBCCDD, IPAddress.Parse("10.7.0.2"), 24);
        Assert.Equal(2, row.Address.Family);
        Assert.Equal([10, 7, 0, 2], new ReadOnlySpan<byte>(row.Address.Ipv4Address, 4).ToArray());
        Assert.Equal(0xAABBCCDDUL, row.InterfaceLuid);
        Assert.Equal(24, row.OnLinkPrefixLength);
        Assert.Equal(4, row.DadState);

        IpHelperConfigurator.FillAddressRow(ref row, 1, IPAddress.Parse("fd00::2"), 64);
        Assert.Equal(23, row.Address.Family);
        Assert.Equal(IPAddress.Parse("fd00::2").GetAddressBytes(), new ReadOnlySpan<byte>(row.Address.Ipv6Address, 16).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            MibUnicastIpAddressRow other = default;
            IpHelperConfigurator.FillAddressRow(ref other, 1, IPAddress.Parse("10.0.0.1"), 33);
        });
    }

    [Fact]
    public unsafe void RouteRowIsOnLinkWithMetricZero()
    {
        MibIpForwardRow2 row = default;
        row.NextHop.Ipv6ScopeId = 99; // stale garbage must be cleared
        IpHelperConfigurator.FillRouteRow(ref row, 42, IpPrefix.Parse("::/0"));
        Assert.Equal(42UL, row.InterfaceLuid);
        Assert.Equal(23, row.DestinationPrefix.Prefix.Family);
        Assert.Equal(0, row.DestinationPrefix.PrefixLength);
        Assert.Equal(23, row.NextHop.Family);
        Assert.Equal(0u, row.NextHop.Ipv6ScopeId);
        Assert.Equal(0u, row.Metric);
        Assert.Equal(3, row.Protocol);

        IpHelperConfigurator.FillRouteRow(ref row, 42, IpPrefix.Parse("192.168.0.0/16"));
        Assert.Equal(2, row.NextHop.Family);
        Assert.Equal(16, row.DestinationPrefix.PrefixLength);
        Assert.Equal([192, 168, 0, 0], new ReadOnlySpan<byte>(row.DestinationPrefix.Prefix.Ipv4Address, 4).ToArray());
    }

    [Fact]
    public void MtuClearsTheIpv4SitePrefixLength()
    {
        MibIpInterfaceRow row = default;
        row.Family = 2;
        row.SitePrefixLength = 64;
        IpHelperConfigurator.ApplyMtu(ref row, 1420);
        Assert.Equal(1420u, row.NlMtu);
        Assert.Equal(0u, row.SitePrefixLength);

        row.Family = 23;
        row.SitePrefixLength = 64;
        IpHelperConfigurator.ApplyMtu(ref row, 1420);
        Assert.Equal(64u, row.SitePrefixLength);
    }

    [Fact]
    public void DnsSettingsSplitServersByFamily()
    {
        IPAddress[] servers = [IPAddress.Parse("1.1.1.1"), IPAddress.Parse("2606:4700::1111"), IPAddress.Parse("9.9.9.9")];
        Assert.Equal("1.1.1.1,9.9.9.9", IpHelperConfigurator.JoinServers(servers, v6: false));
        Assert.Equal("2606:4700::1111", IpHelperConfigurator.JoinServers(servers, v6: true));
        Assert.Equal(0x6UL, IpHelperConfigurator.DnsFlags(v6: false));
        Assert.Equal(0x7UL, IpHelperConfigurator.DnsFlags(v6: true));
    }
}
