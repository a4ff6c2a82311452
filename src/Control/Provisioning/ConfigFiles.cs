namespace JumpingVpn.Control.Provisioning;

/// <summary>
/// Writes configuration files that hold private keys: mode 0600 from the moment they exist (never a
/// window where the key is world readable), directories 0700 when jvpn creates them.
/// </summary>
public static class ConfigFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="path"/>, or replaces it when <paramref name="overwrite"/> is set.</summary>
    /// <exception cref="ConfigFileExistsException">The file exists and <paramref name="overwrite"/> is false.</exception>
    public static void Create(string path, string text, bool overwrite)
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
            Replace(path, text);
            return;
        }
        try
        {
            using FileStream stream = Open(path, FileMode.CreateNew);
            Write(stream, text);
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
    /// or the new file, never half of one.
    /// </summary>
    public static void Replace(string path, string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(text);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string temp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (FileStream stream = Open(temp, FileMode.CreateNew))
            {
                Write(stream, text);
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
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, OwnerOnlyDirectory);
        }
    }

    private static FileStream Open(string path, FileMode mode)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }
        return new FileStream(path, options);
    }

    private static void Write(FileStream stream, string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
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
