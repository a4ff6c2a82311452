using System.Text.RegularExpressions;

namespace JumpingVpn.Control.Config;

/// <summary>Entry point for `jvpn up CONFIG`: reads a wg-quick configuration file.</summary>
public static partial class TunnelConfigParser
{
    /// <summary>Where wg-quick looks for a config given by interface name alone.</summary>
    public const string DefaultDirectory = "/etc/wireguard";

    /// <summary>Where a bare NAME is looked up: /etc/wireguard, or on Windows %ProgramData%\jvpn (where
    /// packaging/windows/install.ps1 puts configs, readable only by SYSTEM and Administrators).</summary>
    public static string ConfigDirectory => Hosting.HostComposition.Current.ConfigDirectory;

    // wg-quick(8): an interface name is 1..15 of these characters (IFNAMSIZ - 1 on Linux).
    [GeneratedRegex("^[a-zA-Z0-9_=+.-]{1,15}$", RegexOptions.CultureInvariant)]
    private static partial Regex InterfaceNameRegex();

    public static bool IsValidInterfaceName(string name) => InterfaceNameRegex().IsMatch(name);

    /// <summary>
    /// wg-quick's rule for CONFIG: a bare interface name ("wg0") means /etc/wireguard/wg0.conf. Unlike
    /// wg-quick, a name that exists as a file in the current directory is taken as that file, so
    /// `jvpn up wg0.conf` works where `wg-quick up wg0.conf` looks for /etc/wireguard/wg0.conf.conf.
    /// </summary>
    public static string ResolveConfigPath(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        return IsValidInterfaceName(nameOrPath) && !File.Exists(nameOrPath)
            ? Path.Combine(ConfigDirectory, nameOrPath + ".conf")
            : nameOrPath;
    }

    /// <summary>
    /// The interface name wg-quick derives from a config path: the file name without ".conf", which must
    /// itself be a valid interface name.
    /// </summary>
    /// <exception cref="ConfigException">The file name is not NAME.conf with a valid NAME.</exception>
    public static string InterfaceNameFromPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = Path.GetFileName(path);
        if (file.EndsWith(".conf", StringComparison.Ordinal))
        {
            string name = file[..^".conf".Length];
            if (IsValidInterfaceName(name))
            {
                return name;
            }
        }
        throw new ConfigException(path, null, null,
            "the file name must be an interface name (1 to 15 of a-z A-Z 0-9 _ = + . -) followed by .conf, like wg0.conf; the interface is named after the file");
    }

    /// <summary>Reads and parses a config file; the interface name comes from the file name.</summary>
    /// <exception cref="ConfigException">The file cannot be read or is not a valid configuration.</exception>
    public static TunnelConfig ParseFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            throw new ConfigException(path, null, null, "is a directory, not a configuration file");
        }
        if (!File.Exists(path))
        {
            // File.Exists is also false when a directory on the way may not be entered (the packaged
            // /etc/jvpn is root:jvpn 0750): say which.
            throw new ConfigException(path, null, null, Unreachable(path) is Exception e
                ? "cannot be read: " + ConfigException.ReadFailure(e)
                : "does not exist");
        }
        string name = InterfaceNameFromPath(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            throw new ConfigException(path, null, null, "cannot be read: " + ConfigException.ReadFailure(e), e);
        }
        List<string> warnings = [];
        switch (OthersAccess(path))
        {
            case (true, string mode):
                throw new ConfigException(path, null, null,
                    $"every user on this host can read or write it (mode {mode}) and it holds a private key; refusing to use it. "
                    + $"Run `chmod 600 {path}` (for the packaged jvpn@ service: `chown root:jvpn {path} && chmod 640 {path}`)");
            case (false, string mode):
                warnings.Add($"{path}: the file is world accessible (mode {mode}) and holds a private key; run `chmod 600 {path}`");
                break;
        }
        // A server's large client list may live in a peers file named by [Jumping] Peers (docs/scaling.md).
        return PeersFile.Merge(ConfigTextParser.Parse(text, path, name, warnings));
    }

    /// <summary>Parses config text. <paramref name="sourceName"/> is used in messages only.</summary>
    /// <exception cref="ConfigException">The text is not a valid configuration.</exception>
    public static TunnelConfig Parse(string text, string sourceName, string interfaceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(interfaceName);
        if (!IsValidInterfaceName(interfaceName))
        {
            throw new ConfigException(sourceName, null, null,
                $"`{interfaceName}` is not a valid interface name (1 to 15 of a-z A-Z 0-9 _ = + . -)");
        }
        return ConfigTextParser.Parse(text, sourceName, interfaceName);
    }

    /// <summary>The access error that hides <paramref name="path"/>, or null when it really is missing.</summary>
    private static UnauthorizedAccessException? Unreachable(string path)
    {
        try
        {
            _ = File.GetAttributes(path);
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            return e;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// wg-quick warns when `file mode &amp; directory mode &amp; 0007` is non-zero: others can reach the
    /// file through its directory. Symlinks are followed first, as wg-quick does with readlink -f.
    /// Returns null when others have no access, else whether they can read or write the file through
    /// its directory (refused: the private key is exposed, or anyone can add a PostUp command) and the
    /// file's octal mode. Group access is allowed: the packaged service reads root:jvpn 0640 files.
    /// </summary>
    private static (bool Refuse, string Mode)? OthersAccess(string path)
    {
        if (!Hosting.HostComposition.Current.PosixFileModes)
        {
            return null;
        }
        try
        {
            FileSystemInfo file = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true) ?? new FileInfo(path);
            string? dir = Path.GetDirectoryName(Path.GetFullPath(file.FullName));
            UnixFileMode fileMode = File.GetUnixFileMode(file.FullName);
            UnixFileMode dirMode = dir is null ? (UnixFileMode)0b111_111_111 : File.GetUnixFileMode(dir);
            const UnixFileMode Others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            // Entering the directory (o+x) is enough to open a file whose name is known.
            bool refuse = (dirMode & UnixFileMode.OtherExecute) != 0
                && (fileMode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0;
            if (!refuse && (fileMode & dirMode & Others) == 0)
            {
                return null;
            }
            return (refuse, "0" + Convert.ToString((int)fileMode & 0xFFF, 8));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
