using System.Runtime.InteropServices;

namespace JumpingVpn.Platform;

/// <summary>
/// Who owns a file, for the checks on secret files (a store password): statx, whose buffer layout is the
/// same on every Linux architecture (struct stat is not), and the process's effective user.
/// </summary>
public static partial class FileOwnership
{
    private const int AtFdCwd = -100;
    private const uint StatxUid = 0x8;
    private const int StatxBufferSize = 256;
    private const int UidOffset = 20;

    /// <summary>The owner's uid, or null when the file cannot be examined (missing, no permission, not Linux).</summary>
    public static unsafe uint? OwnerOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        byte* buffer = stackalloc byte[StatxBufferSize];
        if (Statx(AtFdCwd, path, 0, StatxUid, buffer) != 0)
        {
            return null;
        }
        return *(uint*)(buffer + UidOffset);
    }

    /// <summary>The effective uid of this process (0 for root); null off Linux.</summary>
    public static uint? CurrentUser => OperatingSystem.IsLinux() ? GetEuid() : null;

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
