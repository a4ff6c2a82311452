using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Interop.Windows;

/// <summary>The few kernel32 calls the Wintun read loop needs (synchapi.h / handleapi.h), and
/// WaitNamedPipeW (namedpipeapi.h) for probing the control pipe.</summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class Kernel32
{
    internal const uint Infinite = 0xFFFFFFFF;
    internal const uint WaitObject0 = 0;
    internal const uint WaitFailed = 0xFFFFFFFF;

    // HANDLE CreateEventW(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName)
    [LibraryImport("kernel32.dll", EntryPoint = "CreateEventW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    internal static partial nint CreateEvent(nint securityAttributes, [MarshalAs(UnmanagedType.Bool)] bool manualReset,
        [MarshalAs(UnmanagedType.Bool)] bool initialState, string? name);

    [LibraryImport("kernel32.dll", EntryPoint = "SetEvent", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool SetEvent(nint handle);

    [LibraryImport("kernel32.dll", EntryPoint = "CloseHandle", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool CloseHandle(nint handle);

    // DWORD WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds)
    [LibraryImport("kernel32.dll", EntryPoint = "WaitForMultipleObjects", SetLastError = true)]
    internal static partial uint WaitForMultipleObjects(uint count, nint* handles,
        [MarshalAs(UnmanagedType.Bool)] bool waitAll, uint milliseconds);

    internal const int ErrorFileNotFound = 2;
    internal const int ErrorSemTimeout = 121;

    // BOOL WaitNamedPipeW(LPCWSTR lpNamedPipeName, DWORD nTimeOut): TRUE when an instance is free; never connects.
    [LibraryImport("kernel32.dll", EntryPoint = "WaitNamedPipeW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool WaitNamedPipe(string name, uint timeoutMilliseconds);
}
