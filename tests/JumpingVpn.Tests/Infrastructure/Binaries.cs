namespace JumpingVpn.Tests.Infrastructure;

/// <summary>Finds system binaries by name. Test hosts often run with a PATH that lacks the sbin
/// directories where `ip` and `nft` live, so those are searched too.</summary>
internal static class Binaries
{
    private static readonly string[] ExtraDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    public static string? TryFind(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? name : null;
        }
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        foreach (string dir in ExtraDirectories)
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public static string Find(string name) =>
        TryFind(name) ?? throw new FileNotFoundException($"binary '{name}' not found in PATH or sbin directories");

    /// <summary>The dotnet host used to run jvpn.dll: the one running the tests when it is `dotnet`,
    /// else the SDK's DOTNET_HOST_PATH, else DOTNET_ROOT, else PATH.</summary>
    public static string Dotnet()
    {
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }
        string? hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath))
        {
            return hostPath;
        }
        string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }
        return Find("dotnet");
    }

    /// <summary>jvpn.dll sits next to the test assembly because the test project references the CLI.</summary>
    public static string JvpnDll => Path.Combine(AppContext.BaseDirectory, "jvpn.dll");

    /// <summary>jvpn-loadgen.dll (tools/JumpingVpn.LoadGen) sits there too: the test project references it.</summary>
    public static string LoadGenDll => Path.Combine(AppContext.BaseDirectory, "jvpn-loadgen.dll");
}
