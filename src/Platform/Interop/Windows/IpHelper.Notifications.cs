using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Interop.Windows;

// Change notifications and the route table (netioapi.h; docs/platform.md §3.3). Callbacks are WINAPI
// (stdcall on x86, the only convention on x64/arm64): VOID (PVOID CallerContext, ROW *Row, MIB_NOTIFICATION_TYPE).
// The row may be NULL (e.g. for MibInitialNotification). ADDRESS_FAMILY is a USHORT, BOOLEAN one byte.
internal static unsafe partial class IpHelper
{
    // NETIO_STATUS NotifyRouteChange2(ADDRESS_FAMILY, PIPFORWARD_CHANGE_CALLBACK, PVOID, BOOLEAN, HANDLE*)
    [LibraryImport(Library, EntryPoint = "NotifyRouteChange2")]
    internal static partial uint NotifyRouteChange2(ushort family,
        delegate* unmanaged[Stdcall]<nint, MibIpForwardRow2*, int, void> callback, nint context, byte initialNotification, nint* handle);

    // NETIO_STATUS NotifyUnicastIpAddressChange(ADDRESS_FAMILY, PUNICAST_IPADDRESS_CHANGE_CALLBACK, PVOID, BOOLEAN, HANDLE*)
    [LibraryImport(Library, EntryPoint = "NotifyUnicastIpAddressChange")]
    internal static partial uint NotifyUnicastIpAddressChange(ushort family,
        delegate* unmanaged[Stdcall]<nint, MibUnicastIpAddressRow*, int, void> callback, nint context, byte initialNotification, nint* handle);

    // NETIO_STATUS NotifyIpInterfaceChange(ADDRESS_FAMILY, PIPINTERFACE_CHANGE_CALLBACK, PVOID, BOOLEAN, HANDLE*)
    [LibraryImport(Library, EntryPoint = "NotifyIpInterfaceChange")]
    internal static partial uint NotifyIpInterfaceChange(ushort family,
        delegate* unmanaged[Stdcall]<nint, MibIpInterfaceRow*, int, void> callback, nint context, byte initialNotification, nint* handle);

    // NETIO_STATUS CancelMibChangeNotify2(HANDLE): blocks until running callbacks return, so never call it
    // from a callback or while holding a lock a callback takes (learn.microsoft.com CancelMibChangeNotify2).
    [LibraryImport(Library, EntryPoint = "CancelMibChangeNotify2")]
    internal static partial uint CancelMibChangeNotify2(nint handle);

    // NETIO_STATUS GetIpForwardTable2(ADDRESS_FAMILY, PMIB_IPFORWARD_TABLE2 *Table); free with FreeMibTable.
    [LibraryImport(Library, EntryPoint = "GetIpForwardTable2")]
    internal static partial uint GetIpForwardTable2(ushort family, MibIpForwardTable2** table);

    // VOID FreeMibTable(PVOID Memory)
    [LibraryImport(Library, EntryPoint = "FreeMibTable")]
    internal static partial void FreeMibTable(void* memory);
}

/// <summary>MIB_IPFORWARD_TABLE2: ULONG NumEntries, then the rows (8-aligned, so the first row is at 8).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MibIpForwardTable2
{
    public uint NumEntries;
    public MibIpForwardRow2 Table;
}

/// <summary>MIB_NOTIFICATION_TYPE (netioapi.h).</summary>
internal static class MibNotificationType
{
    internal const int Parameter = 0;
    internal const int AddInstance = 1;
    internal const int DeleteInstance = 2;
    internal const int Initial = 3;
}
