using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Interop.Windows;

/// <summary>
/// The 14 exports of wintun.dll 0.14 (WireGuard/wintun api/wintun.h and api/exports.def; see
/// docs/platform.md §1.1). Every function is WINAPI, which on x64/arm64 is the one platform calling
/// convention, so no CallConvs are needed. Strings are LPCWSTR (UTF-16). Handles are opaque pointers kept
/// as nint here; ownership lives in <see cref="WintunAdapterHandle"/> and <see cref="WintunSessionHandle"/>.
/// SetLastError is set exactly where the header documents GetLastError on failure.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class Wintun
{
    /// <summary>Resolved by <see cref="WintunLoader"/> to the copy next to the executable.</summary>
    internal const string Library = WintunLoader.LibraryName;

    // WINTUN_ADAPTER_HANDLE WintunCreateAdapter(LPCWSTR Name, LPCWSTR TunnelType, const GUID *RequestedGUID)
    [LibraryImport(Library, EntryPoint = "WintunCreateAdapter", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial nint CreateAdapter(string name, string tunnelType, Guid* requestedGuid);

    // WINTUN_ADAPTER_HANDLE WintunOpenAdapter(LPCWSTR Name)
    [LibraryImport(Library, EntryPoint = "WintunOpenAdapter", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial nint OpenAdapter(string name);

    // VOID WintunCloseAdapter(WINTUN_ADAPTER_HANDLE Adapter): also removes an adapter this handle created.
    [LibraryImport(Library, EntryPoint = "WintunCloseAdapter")]
    internal static partial void CloseAdapter(nint adapter);

    // BOOL WintunDeleteDriver(VOID)
    [LibraryImport(Library, EntryPoint = "WintunDeleteDriver", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool DeleteDriver();

    // VOID WintunGetAdapterLUID(WINTUN_ADAPTER_HANDLE Adapter, NET_LUID *Luid): note the export's upper-case LUID.
    [LibraryImport(Library, EntryPoint = "WintunGetAdapterLUID")]
    internal static partial void GetAdapterLuid(nint adapter, out ulong luid);

    // DWORD WintunGetRunningDriverVersion(VOID): 0 + ERROR_FILE_NOT_FOUND when not loaded.
    [LibraryImport(Library, EntryPoint = "WintunGetRunningDriverVersion", SetLastError = true)]
    internal static partial uint GetRunningDriverVersion();

    // VOID WintunSetLogger(WINTUN_LOGGER_CALLBACK NewLogger);
    // callback: VOID CALLBACK (WINTUN_LOGGER_LEVEL Level, DWORD64 Timestamp, LPCWSTR Message), may run concurrently.
    [LibraryImport(Library, EntryPoint = "WintunSetLogger")]
    internal static partial void SetLogger(delegate* unmanaged<int, ulong, char*, void> logger);

    // WINTUN_SESSION_HANDLE WintunStartSession(WINTUN_ADAPTER_HANDLE Adapter, DWORD Capacity)
    [LibraryImport(Library, EntryPoint = "WintunStartSession", SetLastError = true)]
    internal static partial nint StartSession(nint adapter, uint capacity);

    // VOID WintunEndSession(WINTUN_SESSION_HANDLE Session)
    [LibraryImport(Library, EntryPoint = "WintunEndSession")]
    internal static partial void EndSession(nint session);

    // HANDLE WintunGetReadWaitEvent(WINTUN_SESSION_HANDLE Session): owned by the session, never CloseHandle it.
    [LibraryImport(Library, EntryPoint = "WintunGetReadWaitEvent")]
    internal static partial nint GetReadWaitEvent(nint session);

    // BYTE *WintunReceivePacket(WINTUN_SESSION_HANDLE Session, DWORD *PacketSize)
    [LibraryImport(Library, EntryPoint = "WintunReceivePacket", SetLastError = true)]
    internal static partial byte* ReceivePacket(nint session, out uint packetSize);

    // VOID WintunReleaseReceivePacket(WINTUN_SESSION_HANDLE Session, const BYTE *Packet)
    [LibraryImport(Library, EntryPoint = "WintunReleaseReceivePacket")]
    internal static partial void ReleaseReceivePacket(nint session, byte* packet);

    // BYTE *WintunAllocateSendPacket(WINTUN_SESSION_HANDLE Session, DWORD PacketSize)
    [LibraryImport(Library, EntryPoint = "WintunAllocateSendPacket", SetLastError = true)]
    internal static partial byte* AllocateSendPacket(nint session, uint packetSize);

    // VOID WintunSendPacket(WINTUN_SESSION_HANDLE Session, const BYTE *Packet)
    [LibraryImport(Library, EntryPoint = "WintunSendPacket")]
    internal static partial void SendPacket(nint session, byte* packet);
}

/// <summary>Wintun's limits and the Win32 error codes its ring functions report (wintun.h; docs/platform.md §1.1).
/// Kept apart from <see cref="Wintun"/> so the OS-neutral device logic can use them.</summary>
internal static class WintunConstants
{
    /// <summary>WINTUN_MIN_RING_CAPACITY (128 KiB).</summary>
    internal const uint MinRingCapacity = 0x20000;

    /// <summary>WINTUN_MAX_RING_CAPACITY (64 MiB).</summary>
    internal const uint MaxRingCapacity = 0x4000000;

    /// <summary>WINTUN_MAX_IP_PACKET_SIZE.</summary>
    internal const int MaxIpPacketSize = 0xFFFF;

    /// <summary>MAX_ADAPTER_NAME (128) minus the terminator: longest Name/TunnelType in UTF-16 chars.</summary>
    internal const int MaxAdapterNameLength = 127;

    /// <summary>ReceivePacket: the ring is empty, wait on the read-wait event.</summary>
    internal const int ErrorNoMoreItems = 259;

    /// <summary>ReceivePacket/AllocateSendPacket: the adapter is terminating.</summary>
    internal const int ErrorHandleEof = 38;

    /// <summary>ReceivePacket: the ring is corrupt.</summary>
    internal const int ErrorInvalidData = 13;

    /// <summary>AllocateSendPacket: the ring is full; the README says drop the packet.</summary>
    internal const int ErrorBufferOverflow = 111;

    /// <summary>GetRunningDriverVersion: driver not loaded.</summary>
    internal const int ErrorFileNotFound = 2;

    /// <summary>True for a capacity WintunStartSession accepts: a power of two in [Min, Max].</summary>
    internal static bool IsValidRingCapacity(uint capacity) =>
        capacity >= MinRingCapacity && capacity <= MaxRingCapacity && (capacity & (capacity - 1)) == 0;
}

/// <summary>Owns a WINTUN_ADAPTER_HANDLE; closing it removes an adapter that this handle created.</summary>
[SupportedOSPlatform("windows")]
internal sealed class WintunAdapterHandle : SafeHandle
{
    public WintunAdapterHandle() : base(0, ownsHandle: true)
    {
    }

    internal WintunAdapterHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Wintun.CloseAdapter(handle);
        return true;
    }
}

/// <summary>Owns a WINTUN_SESSION_HANDLE. End it only after every reader left ReceivePacket
/// (docs/platform.md §1.5), which <see cref="Tun.Windows.WintunDevice"/> ensures.</summary>
[SupportedOSPlatform("windows")]
internal sealed class WintunSessionHandle : SafeHandle
{
    public WintunSessionHandle() : base(0, ownsHandle: true)
    {
    }

    internal WintunSessionHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Wintun.EndSession(handle);
        return true;
    }
}
