using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Interop.Windows;

/// <summary>
/// Loads wintun.dll only from the application directory, never from the current directory or PATH
/// (docs/platform.md §1.4: the Wintun README recommends LoadLibraryExW with LOAD_LIBRARY_SEARCH_APPLICATION_DIR |
/// LOAD_LIBRARY_SEARCH_SYSTEM32; Tailscale loads its own copy by full path so a stale copy dropped into System32
/// is not picked up). .NET 10 single-file apps no longer add the app directory to the native search path, so
/// the full path under AppContext.BaseDirectory is tried first, then the same two search flags.
/// </summary>
internal static class WintunLoader
{
    internal const string LibraryName = "wintun";

    internal const string FileName = "wintun.dll";

    /// <summary>The search flags used after the full-path attempt: the exe's own directory and System32 only.</summary>
    internal const DllImportSearchPath SearchPaths = DllImportSearchPath.ApplicationDirectory | DllImportSearchPath.System32;

    private static int s_registered;

    /// <summary>The full path tried first: <paramref name="baseDirectory"/> + wintun.dll.</summary>
    internal static string ApplicationPath(string baseDirectory) => Path.Combine(baseDirectory, FileName);

    /// <summary>Installs the resolver for this assembly once. Only one resolver per assembly is allowed, so
    /// it passes every other library name on to the default probing (returns 0).</summary>
    [SupportedOSPlatform("windows")]
    internal static void EnsureRegistered()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(WintunLoader).Assembly, Resolve);
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!string.Equals(libraryName, LibraryName, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(libraryName, FileName, StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }
        if (NativeLibrary.TryLoad(ApplicationPath(AppContext.BaseDirectory), out nint handle))
        {
            return handle;
        }
        if (NativeLibrary.TryLoad(FileName, assembly, SearchPaths, out handle))
        {
            return handle;
        }
        throw new DllNotFoundException(
            $"{FileName} was not found in {AppContext.BaseDirectory}. Put the signed wintun.dll from wintun.net " +
            "(matching this machine's architecture) next to jvpn.exe.");
    }
}
