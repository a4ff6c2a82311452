using JumpingVpn.Control.Hosting;

namespace JumpingVpn.Ui.Manager;

/// <summary>
/// The manager's config directory: one <c>NAME.conf</c> per tunnel. Files are written atomically (a temporary file
/// in the same directory, created 0600, then renamed over the old one) so a crash never leaves half a config and a
/// private key is never readable by others, not even for a moment (docs/ui.md "The manager").
/// </summary>
public sealed class ConfigDirectory
{
    public ConfigDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    /// <summary>The file of tunnel <paramref name="name"/>; throws <see cref="ArgumentException"/> for an invalid name.</summary>
    public string FileOf(string name)
    {
        if (TunnelNames.Problem(name) is string problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }
        return System.IO.Path.Combine(Path, name + ".conf");
    }

    /// <summary>Tunnel names with a config file here, sorted ordinally; files with other names are ignored.</summary>
    public IReadOnlyList<string> Names()
    {
        if (!Directory.Exists(Path))
        {
            return [];
        }
        var names = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Path, "*.conf"))
        {
            string name = TunnelNames.FromFileName(System.IO.Path.GetFileName(file));
            if (TunnelNames.IsValid(name))
            {
                names.Add(name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public bool Exists(string name) => File.Exists(FileOf(name));

    public string Read(string name) => File.ReadAllText(FileOf(name));

    public void Write(string name, string text)
    {
        string target = FileOf(name);
        Directory.CreateDirectory(Path);
        string temp = System.IO.Path.Combine(Path, "." + name + ".conf." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (HostComposition.Current.PosixFileModes)
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(text);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public void Delete(string name) => File.Delete(FileOf(name));
}
