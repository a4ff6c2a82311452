using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>
/// Addresses, routes, MTU and DNS of the Wintun adapter through IP Helper, the recipe of wireguard-windows
/// tunnel/addressconfig.go (docs/platform.md §3.1) without shelling out to netsh. The device name is the
/// adapter's alias (the Wintun adapter name). Creating an address or route that already exists
/// (ERROR_OBJECT_ALREADY_EXISTS) counts as success, as Wintun's example.c treats it.
/// The row-filling parts are pure (and unit-tested); only the calls need Windows.
/// </summary>
public sealed unsafe class IpHelperConfigurator : INetworkConfigurator
{
    /// <summary>IPv6 requires at least 1280 (RFC 8200 §5); the IPv6 row is left alone below that.</summary>
    private const int MinIpv6Mtu = 1280;

    [SupportedOSPlatform("windows")]
    public void SetMtu(string device, int mtu)
    {
        ulong luid = Luid(device);
        SetFamilyMtu(device, luid, IpHelperConstants.AfInet, mtu);
        if (mtu >= MinIpv6Mtu)
        {
            SetFamilyMtu(device, luid, IpHelperConstants.AfInet6, mtu);
        }
    }

    [SupportedOSPlatform("windows")]
    private static void SetFamilyMtu(string device, ulong luid, ushort family, int mtu)
    {
        MibIpInterfaceRow row;
        IpHelper.InitializeIpInterfaceEntry(&row);
        row.Family = family;
        row.InterfaceLuid = luid;
        uint status = IpHelper.GetIpInterfaceEntry(&row);
        if (status == IpHelperConstants.ErrorNotFound)
        {
            return; // that family is not bound to the adapter (e.g. IPv6 disabled)
        }
        Check(status, $"Reading the IP interface of {device}");
        ApplyMtu(ref row, mtu);
        Check(IpHelper.SetIpInterfaceEntry(&row), $"Setting MTU {mtu} on {device}");
    }

    /// <summary>Sets NlMtu. SetIpInterfaceEntry rejects an IPv4 row whose SitePrefixLength is not 0
    /// (learn.microsoft.com SetIpInterfaceEntry remarks), and Get fills it in, so clear it.</summary>
    internal static void ApplyMtu(ref MibIpInterfaceRow row, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mtu);
        row.NlMtu = (uint)mtu;
        if (row.Family == IpHelperConstants.AfInet)
        {
            row.SitePrefixLength = 0;
        }
    }

    /// <summary>
    /// Waits until the adapter's IPv4 interface row exists: configuring a freshly created Wintun adapter
    /// before that fails intermittently (wireguard-windows waits for MibAddInstance in
    /// tunnel/interfacewatcher.go; docs/platform.md §1.3). Polls every 50 ms up to <paramref name="timeout"/>.
    /// </summary>
    [SupportedOSPlatform("windows")]
    public static void WaitForInterface(string device, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            ulong luid;
            if (IpHelper.ConvertInterfaceAliasToLuid(device, &luid) == IpHelperConstants.NoError)
            {
                MibIpInterfaceRow row;
                IpHelper.InitializeIpInterfaceEntry(&row);
                row.Family = IpHelperConstants.AfInet;
                row.InterfaceLuid = luid;
                if (IpHelper.GetIpInterfaceEntry(&row) == IpHelperConstants.NoError)
                {
                    return;
                }
            }
            if (Environment.TickCount64 >= deadline)
            {
                throw new PlatformException($"The IP interface of {device} did not appear within {timeout.TotalSeconds:0} s.");
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// Full tunnel: interface metric 0 with automatic metric off on both families, so the tunnel's
    /// 0.0.0.0/0 and ::/0 win over the physical default routes (wireguard-windows addressconfig.go).
    /// </summary>
    [SupportedOSPlatform("windows")]
    public static void PreferForDefaultRoute(string device)
    {
        ulong luid = Luid(device);
        foreach (ushort family in (ReadOnlySpan<ushort>)[IpHelperConstants.AfInet, IpHelperConstants.AfInet6])
        {
            MibIpInterfaceRow row;
            IpHelper.InitializeIpInterfaceEntry(&row);
            row.Family = family;
            row.InterfaceLuid = luid;
            uint status = IpHelper.GetIpInterfaceEntry(&row);
            if (status == IpHelperConstants.ErrorNotFound)
            {
                continue;
            }
            Check(status, $"Reading the IP interface of {device}");
            ApplyLowestMetric(ref row);
            Check(IpHelper.SetIpInterfaceEntry(&row), $"Setting the metric of {device}");
        }
    }

    internal static void ApplyLowestMetric(ref MibIpInterfaceRow row)
    {
        row.UseAutomaticMetric = 0;
        row.Metric = 0;
        if (row.Family == IpHelperConstants.AfInet)
        {
            row.SitePrefixLength = 0;
        }
    }

    /// <summary>The NET_LUID of the adapter with this alias.</summary>
    [SupportedOSPlatform("windows")]
    public static ulong LuidOf(string device) => Luid(device);

    [SupportedOSPlatform("windows")]
    public void AddAddress(string device, IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        MibUnicastIpAddressRow row;
        IpHelper.InitializeUnicastIpAddressEntry(&row);
        FillAddressRow(ref row, Luid(device), address, prefixLength);
        CheckCreate(IpHelper.CreateUnicastIpAddressEntry(&row), $"Adding {address}/{prefixLength} to {device}");
    }

    /// <summary>Fills an initialized row: address, LUID, on-link prefix, and DAD state Preferred so the
    /// address is usable at once (wireguard-windows does the same).</summary>
    internal static void FillAddressRow(ref MibUnicastIpAddressRow row, ulong luid, IPAddress address, int prefixLength)
    {
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, max);
        row.Address = ToSockAddr(address);
        row.InterfaceLuid = luid;
        row.OnLinkPrefixLength = (byte)prefixLength;
        row.DadState = IpHelperConstants.IpDadStatePreferred;
    }

    /// <summary>Wintun adapters are up as soon as a session runs; nothing to do.</summary>
    public void SetUp(string device)
    {
    }

    [SupportedOSPlatform("windows")]
    public void AddRoute(string device, IpPrefix prefix, string? table = null)
    {
        if (table is not null)
        {
            throw new PlatformNotSupportedException("Windows has no routing tables; jvpn binds its UDP sockets to the physical interface instead (IP_UNICAST_IF).");
        }
        MibIpForwardRow2 row;
        IpHelper.InitializeIpForwardEntry(&row);
        FillRouteRow(ref row, Luid(device), prefix);
        CheckCreate(IpHelper.CreateIpForwardEntry2(&row), $"Adding route {prefix} via {device}");
    }

    /// <summary>An on-link route (next hop = the family's unspecified address) with metric 0, so the
    /// effective metric is the interface metric (wireguard-windows addressconfig.go).</summary>
    internal static void FillRouteRow(ref MibIpForwardRow2 row, ulong luid, IpPrefix prefix)
    {
        row.InterfaceLuid = luid;
        row.DestinationPrefix.Prefix = ToSockAddr(prefix.Address);
        row.DestinationPrefix.PrefixLength = (byte)prefix.Length;
        row.NextHop = default;
        row.NextHop.Family = row.DestinationPrefix.Prefix.Family;
        row.Metric = 0;
        row.Protocol = IpHelperConstants.MibIpProtoNetMgmt;
    }

    /// <summary>The adapter goes away with the Wintun handle that created it (WintunCloseAdapter); nothing to do.</summary>
    public void DeleteLink(string device)
    {
    }

    /// <summary>
    /// Sets DNS servers and search domains on the adapter with SetInterfaceDnsSettings (Windows 10 build 19041+),
    /// one call per family as wireguard-windows luid.go SetDNS does.
    /// </summary>
    [SupportedOSPlatform("windows10.0.19041")]
    public static void SetDns(string device, IReadOnlyList<IPAddress> servers, IReadOnlyList<string> searchDomains)
    {
        ArgumentNullException.ThrowIfNull(servers);
        ArgumentNullException.ThrowIfNull(searchDomains);
        ulong luid = Luid(device);
        Guid guid;
        Check(IpHelper.ConvertInterfaceLuidToGuid(&luid, &guid), $"Looking up the GUID of {device}");
        string search = string.Join(',', searchDomains);
        foreach (bool v6 in (ReadOnlySpan<bool>)[false, true])
        {
            string list = JoinServers(servers, v6);
            fixed (char* ns = list)
            fixed (char* sl = search)
            {
                DnsInterfaceSettings settings = default;
                settings.Version = IpHelperConstants.DnsInterfaceSettingsVersion1;
                settings.Flags = DnsFlags(v6);
                settings.NameServer = ns;
                settings.SearchList = sl;
                Check(IpHelper.SetInterfaceDnsSettings(guid, &settings), $"Setting DNS on {device}");
            }
        }
    }

    internal static ulong DnsFlags(bool v6) =>
        IpHelperConstants.DnsSettingNameServer | IpHelperConstants.DnsSettingSearchList | (v6 ? IpHelperConstants.DnsSettingIpv6 : 0);

    /// <summary>The comma-separated server list of one family (the format SetInterfaceDnsSettings takes).</summary>
    internal static string JoinServers(IReadOnlyList<IPAddress> servers, bool v6)
    {
        var parts = new List<string>(servers.Count);
        foreach (IPAddress s in servers)
        {
            if ((s.AddressFamily == AddressFamily.InterNetworkV6) == v6)
            {
                parts.Add(s.ToString());
            }
        }
        return string.Join(',', parts);
    }

    /// <summary>SOCKADDR_INET for an address (port 0).</summary>
    internal static SockAddrInet ToSockAddr(IPAddress address)
    {
        SockAddrInet sa = default;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            sa.Family = IpHelperConstants.AfInet;
            address.TryWriteBytes(new Span<byte>(sa.Ipv4Address, 4), out _);
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            sa.Family = IpHelperConstants.AfInet6;
            address.TryWriteBytes(new Span<byte>(sa.Ipv6Address, 16), out _);
            sa.Ipv6ScopeId = (uint)address.ScopeId;
        }
        else
        {
            throw new ArgumentException($"Not an IP address: {address}", nameof(address));
        }
        return sa;
    }

    [SupportedOSPlatform("windows")]
    private static ulong Luid(string device)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        ulong luid;
        Check(IpHelper.ConvertInterfaceAliasToLuid(device, &luid), $"Finding interface {device}");
        return luid;
    }

    private static void CheckCreate(uint status, string what)
    {
        if (status != IpHelperConstants.ErrorObjectAlreadyExists)
        {
            Check(status, what);
        }
    }

    private static void Check(uint status, string what)
    {
        if (status != IpHelperConstants.NoError)
        {
            throw new PlatformException($"{what} failed: {new Win32Exception((int)status).Message}", (int)status);
        }
    }
}
