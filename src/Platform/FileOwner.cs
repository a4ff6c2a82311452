using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Linux;
using Microsoft.Win32.SafeHandles;

namespace JumpingVpn.Platform;

/// <summary>Reads and sets the owner and group of files on Linux (the BCL only handles modes).</summary>
public static class FileOwner
{
    /// <summary>Passed for an id that must not change (chown(2)'s -1).</summary>
    public const uint Unchanged = uint.MaxValue;

    /// <summary>The owning user and group ids of <paramref name="path"/> (symlinks followed).</summary>
    /// <exception cref="IOException">The file cannot be examined.</exception>
    public static unsafe (uint Uid, uint Gid) Get(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte* buffer = stackalloc byte[LibC.StatxSize];
        if (LibC.Statx(LibC.AT_FDCWD, path, 0, LibC.STATX_UID | LibC.STATX_GID, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{path}: cannot read its owner: {LibC.ErrorText(errno)}");
        }
        return (*(uint*)(buffer + LibC.StatxUidOffset), *(uint*)(buffer + LibC.StatxGidOffset));
    }

    /// <summary>The owning user id, or null when the file cannot be examined (missing, no permission).</summary>
    public static uint? TryGetOwner(string path)
    {
        try
        {
            return Get(path).Uid;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The effective uid of this process (0 for root).</summary>
    public static uint CurrentUser => LibC.GetEuid();

    /// <summary>chown(2) on an open file; <see cref="Unchanged"/> keeps that id.</summary>
    /// <exception cref="UnauthorizedAccessException">Only root (CAP_CHOWN) may give the file away.</exception>
    public static void Set(SafeFileHandle file, uint uid, uint gid)
    {
        ArgumentNullException.ThrowIfNull(file);
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            if (LibC.FChown((int)file.DangerousGetHandle(), uid, gid) == 0)
            {
                return;
            }
            int errno = Marshal.GetLastPInvokeError();
            string text = LibC.ErrorText(errno);
            throw errno is LibC.EPERM or LibC.EACCES
                ? new UnauthorizedAccessException($"cannot set owner {Id(uid)}:{Id(gid)}: {text}")
                : new IOException($"cannot set owner {Id(uid)}:{Id(gid)}: {text}");
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>chown(2) by path, for files that cannot be opened (a Unix socket); <see cref="Unchanged"/> keeps that id.</summary>
    /// <exception cref="IOException">The owner cannot be set.</exception>
    public static void Set(string path, uint uid, uint gid)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (LibC.Chown(path, uid, gid) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{path}: cannot set owner {Id(uid)}:{Id(gid)}: {LibC.ErrorText(errno)}");
        }
    }

    /// <summary>The id of the group named <paramref name="name"/> (from /etc/group or NSS), if it exists.</summary>
    public static bool TryGetGroupId(string name, out uint gid)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        gid = 0;
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        nint group = LibC.GetGrNam(name);
        if (group == 0)
        {
            return false;
        }
        // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }
        gid = (uint)Marshal.ReadInt32(group, 2 * IntPtr.Size);
        return true;
    }

    private static string Id(uint id) => id == Unchanged ? "-" : id.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
