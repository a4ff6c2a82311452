using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Linux;

/// <summary>File ownership calls the BCL lacks (it reads and sets modes, never owners or groups).</summary>
internal static partial class LibC
{
    public const int AT_FDCWD = -100;
    public const uint STATX_UID = 0x8;
    public const uint STATX_GID = 0x10;

    /// <summary>struct statx is the same on every Linux architecture (fixed-width fields, 256 bytes);
    /// only the owner fields are read: stx_uid at byte 20, stx_gid at byte 24.</summary>
    public const int StatxSize = 256;
    public const int StatxUidOffset = 20;
    public const int StatxGidOffset = 24;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    public static partial int FChown(int fd, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    public const int SIGTERM = 15;

    /// <summary>Returns a pointer into libc's static struct group, or 0 when there is no such group.</summary>
    [LibraryImport("libc", EntryPoint = "getgrnam", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint GetGrNam(string name);
}
