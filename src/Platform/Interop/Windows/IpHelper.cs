using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Interop.Windows;

/// <summary>
/// iphlpapi.dll (netioapi.h) calls for configuring the tunnel adapter, the set wireguard-windows'
/// tunnel/winipcfg uses (docs/platform.md §3.1). They return the error code (NETIO_STATUS) directly rather
/// than through GetLastError, so SetLastError is off.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class IpHelper
{
    internal const string Library = "iphlpapi.dll";

    [LibraryImport(Library, EntryPoint = "InitializeUnicastIpAddressEntry")]
    internal static partial void InitializeUnicastIpAddressEntry(MibUnicastIpAddressRow* row);

    [LibraryImport(Library, EntryPoint = "CreateUnicastIpAddressEntry")]
    internal static partial uint CreateUnicastIpAddressEntry(MibUnicastIpAddressRow* row);

    [LibraryImport(Library, EntryPoint = "InitializeIpForwardEntry")]
    internal static partial void InitializeIpForwardEntry(MibIpForwardRow2* row);

    [LibraryImport(Library, EntryPoint = "CreateIpForwardEntry2")]
    internal static partial uint CreateIpForwardEntry2(MibIpForwardRow2* row);

    [LibraryImport(Library, EntryPoint = "InitializeIpInterfaceEntry")]
    internal static partial void InitializeIpInterfaceEntry(MibIpInterfaceRow* row);

    [LibraryImport(Library, EntryPoint = "GetIpInterfaceEntry")]
    internal static partial uint GetIpInterfaceEntry(MibIpInterfaceRow* row);

    [LibraryImport(Library, EntryPoint = "SetIpInterfaceEntry")]
    internal static partial uint SetIpInterfaceEntry(MibIpInterfaceRow* row);

    // NETIO_STATUS ConvertInterfaceAliasToLuid(const WCHAR *InterfaceAlias, PNET_LUID InterfaceLuid)
    [LibraryImport(Library, EntryPoint = "ConvertInterfaceAliasToLuid", StringMarshalling = StringMarshalling.Utf16)]
    internal static partial uint ConvertInterfaceAliasToLuid(string alias, ulong* luid);

    // NETIO_STATUS ConvertInterfaceLuidToGuid(const NET_LUID *InterfaceLuid, GUID *InterfaceGuid)
    [LibraryImport(Library, EntryPoint = "ConvertInterfaceLuidToGuid")]
    internal static partial uint ConvertInterfaceLuidToGuid(ulong* luid, Guid* guid);

    // NETIOAPI_API SetInterfaceDnsSettings(GUID Interface, const DNS_INTERFACE_SETTINGS *Settings): GUID by value.
    [LibraryImport(Library, EntryPoint = "SetInterfaceDnsSettings")]
    internal static partial uint SetInterfaceDnsSettings(Guid interfaceGuid, DnsInterfaceSettings* settings);
}
