using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Interop.Windows;

/// <summary>
/// The Windows Filtering Platform management API (fwpuclnt.dll, fwpmu.h) as the kill switch uses it
/// (docs/platform.md §3.4): engine, transactions, provider, sublayer and filters added and deleted by key, and the
/// application id of an executable. Every call returns a Win32/FWP error code directly (0 = success).
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class Fwpuclnt
{
    private const string Library = "fwpuclnt.dll";

    // DWORD FwpmEngineOpen0(const wchar_t *serverName, UINT32 authnService, SEC_WINNT_AUTH_IDENTITY_W *authIdentity,
    //                       const FWPM_SESSION0 *session, HANDLE *engineHandle)
    [LibraryImport(Library, EntryPoint = "FwpmEngineOpen0")]
    internal static partial uint FwpmEngineOpen0(char* serverName, uint authnService, void* authIdentity, void* session, nint* engineHandle);

    [LibraryImport(Library, EntryPoint = "FwpmEngineClose0")]
    internal static partial uint FwpmEngineClose0(nint engineHandle);

    [LibraryImport(Library, EntryPoint = "FwpmTransactionBegin0")]
    internal static partial uint FwpmTransactionBegin0(nint engineHandle, uint flags);

    [LibraryImport(Library, EntryPoint = "FwpmTransactionCommit0")]
    internal static partial uint FwpmTransactionCommit0(nint engineHandle);

    [LibraryImport(Library, EntryPoint = "FwpmTransactionAbort0")]
    internal static partial uint FwpmTransactionAbort0(nint engineHandle);

    [LibraryImport(Library, EntryPoint = "FwpmProviderAdd0")]
    internal static partial uint FwpmProviderAdd0(nint engineHandle, FwpmProvider0* provider, void* securityDescriptor);

    [LibraryImport(Library, EntryPoint = "FwpmSubLayerAdd0")]
    internal static partial uint FwpmSubLayerAdd0(nint engineHandle, FwpmSubLayer0* subLayer, void* securityDescriptor);

    [LibraryImport(Library, EntryPoint = "FwpmSubLayerDeleteByKey0")]
    internal static partial uint FwpmSubLayerDeleteByKey0(nint engineHandle, Guid* key);

    // DWORD FwpmSubLayerGetByKey0(HANDLE engineHandle, const GUID *key, FWPM_SUBLAYER0 **subLayer)
    [LibraryImport(Library, EntryPoint = "FwpmSubLayerGetByKey0")]
    internal static partial uint FwpmSubLayerGetByKey0(nint engineHandle, Guid* key, FwpmSubLayer0** subLayer);

    // DWORD FwpmFilterAdd0(HANDLE engineHandle, const FWPM_FILTER0 *filter, PSECURITY_DESCRIPTOR sd, UINT64 *id)
    [LibraryImport(Library, EntryPoint = "FwpmFilterAdd0")]
    internal static partial uint FwpmFilterAdd0(nint engineHandle, FwpmFilter0* filter, void* securityDescriptor, ulong* id);

    [LibraryImport(Library, EntryPoint = "FwpmFilterDeleteByKey0")]
    internal static partial uint FwpmFilterDeleteByKey0(nint engineHandle, Guid* key);

    // DWORD FwpmGetAppIdFromFileName0(PCWSTR fileName, FWP_BYTE_BLOB **appId)
    [LibraryImport(Library, EntryPoint = "FwpmGetAppIdFromFileName0", StringMarshalling = StringMarshalling.Utf16)]
    internal static partial uint FwpmGetAppIdFromFileName0(string fileName, FwpByteBlob** appId);

    // void FwpmFreeMemory0(void **p)
    [LibraryImport(Library, EntryPoint = "FwpmFreeMemory0")]
    internal static partial void FwpmFreeMemory0(void** p);
}
