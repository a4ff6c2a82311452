using Microsoft.Win32.SafeHandles;
using JumpingVpn.Platform;

namespace JumpingVpn.Control.Provisioning;

/// <summary>
/// Writes configuration files that hold private keys: mode 0600 from the moment they exist (never a
/// window where the key is world readable), directories 0700 when jvpn creates them. A file that is
/// replaced keeps its owner, group and mode; a new file in the packaged config directory is root:jvpn
/// 0640 so the packaged unit, which runs as user jvpn, can read it (packaging/README.md, "Files, owners and modes").
/// </summary>
public static class ConfigFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerAndGroupRead = OwnerOnly | UnixFileMode.GroupRead;
    private const UnixFileMode PermissionBits = (UnixFileMode)0b111_111_111;

    /// <summary>Creates <paramref name="path"/>, or replaces it when <paramref name="overwrite"/> is set.</summary>
    /// <param name="service">Where the packaged service reads its configs and the group it runs as
    /// (default <see cref="ServiceConfigAccess.Packaged"/>).</param>
    /// <exception cref="ConfigFileExistsException">The file exists and <paramref name="overwrite"/> is false.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable, or the group cannot be set.</exception>
    public static void Create(string path, string text, bool overwrite, ServiceConfigAccess? service = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(text);
        EnsureDirectory(path);
        if (!overwrite && (File.Exists(path) || Directory.Exists(path)))
        {
            throw new ConfigFileExistsException(path);
        }
        if (overwrite)
        {
            Replace(path, text, service);
            return;
        }
        FileAccessPlan access = AccessFor(Path.GetFullPath(path), service ?? ServiceConfigAccess.Packaged);
        try
        {
            using FileStream stream = Open(path, FileMode.CreateNew);
            Write(stream, text, access);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Lost a race with another writer: CreateNew refused, which is what O_EXCL is for.
            throw new ConfigFileExistsException(path);
        }
    }

    /// <summary>
    /// Replaces <paramref name="path"/> atomically: write a 0600 temp file in the same directory, fsync,
    /// rename over the target (rename(2) is atomic within a file system), so a crash leaves either the old
    /// or the new file, never half of one. The temp file gets the target's owner, group and mode
    /// before the rename (a new target: see <see cref="Create"/>), so a config the service user could
    /// read stays readable.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable, or the owner cannot be kept (not root).</exception>
    public static void Replace(string path, string text, ServiceConfigAccess? service = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(text);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string temp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            FileAccessPlan access = AccessFor(full, service ?? ServiceConfigAccess.Packaged);
            using (FileStream stream = Open(temp, FileMode.CreateNew))
            {
                Write(stream, text, access);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static void EnsureDirectory(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is null || Directory.Exists(dir))
        {
            return;
        }
        if (Hosting.HostComposition.Current.PosixFileModes)
        {
            Directory.CreateDirectory(dir, OwnerOnlyDirectory);
        }
        else
        {
            Directory.CreateDirectory(dir);
        }
    }

    private static FileStream Open(string path, FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (Hosting.HostComposition.Current.PosixFileModes)
        {
            options.UnixCreateMode = OwnerOnly;
        }
        return new FileStream(path, options);
    }

    /// <summary>Owner, group and mode for the file about to be written at <paramref name="full"/>: an
    /// existing file's own; root:jvpn 0640 for a new file in the packaged config directory when the
    /// group exists; otherwise the creator's, 0600.</summary>
    private static FileAccessPlan AccessFor(string full, ServiceConfigAccess service)
    {
        if (!Hosting.HostComposition.Current.PosixFileModes)
        {
            return new FileAccessPlan(FileOwner.Unchanged, FileOwner.Unchanged, OwnerOnly);
        }
        if (File.Exists(full))
        {
            (uint uid, uint gid) = FileOwner.Get(full);
            return new FileAccessPlan(uid, gid, File.GetUnixFileMode(full) & PermissionBits);
        }
        string dir = Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(full) ?? "");
        if (string.Equals(dir, Path.TrimEndingDirectorySeparator(Path.GetFullPath(service.Directory)), StringComparison.Ordinal)
            && FileOwner.TryGetGroupId(service.Group, out uint serviceGid))
        {
            return new FileAccessPlan(FileOwner.Unchanged, serviceGid, OwnerAndGroupRead);
        }
        return new FileAccessPlan(FileOwner.Unchanged, FileOwner.Unchanged, OwnerOnly);
    }

    private static void Write(FileStream stream, string text, FileAccessPlan access)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
        if (!Hosting.HostComposition.Current.PosixFileModes)
        {
            return;
        }
        // Owner first: chown(2) clears set-id bits, and the file stays 0600 until both are right.
        // Only ids that differ are changed, so a user replacing a file of their own needs no privilege.
        SafeFileHandle handle = stream.SafeFileHandle;
        (uint uid, uint gid) = FileOwner.Get(stream.Name);
        uint newUid = access.Uid == uid ? FileOwner.Unchanged : access.Uid;
        uint newGid = access.Gid == gid ? FileOwner.Unchanged : access.Gid;
        if (newUid != FileOwner.Unchanged || newGid != FileOwner.Unchanged)
        {
            FileOwner.Set(handle, newUid, newGid);
        }
        if (access.Mode != OwnerOnly)
        {
            File.SetUnixFileMode(handle, access.Mode);
        }
    }

    private readonly record struct FileAccessPlan(uint Uid, uint Gid, UnixFileMode Mode);
}

/// <summary>The config file `jvpn server init` would write already exists (use --force to replace it).</summary>
public sealed class ConfigFileExistsException : IOException
{
    public ConfigFileExistsException()
    {
    }

    public ConfigFileExistsException(string path)
        : base($"{path} already exists; pass --force to replace it (the old private key is lost, every client needs a new config)")
    {
        Path = path;
    }

    public ConfigFileExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? Path { get; }
}
