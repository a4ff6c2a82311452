namespace JumpingVpn.Tests.Infrastructure;

/// <summary>Gate for tests that need root, network namespaces and system binaries. Locally a missing
/// prerequisite skips the test; under CI (CI=true) it fails, so a broken runner can't turn the
/// end-to-end suite into a silent row of skips.</summary>
internal static class Requirements
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>For tests that need only some binaries on loopback (e.g. redis-server), not root or namespaces.</summary>
    public static void EnsureTools(params string[] binaries)
    {
        foreach (string binary in binaries)
        {
            SystemPackages.EnsureListed(binary);
        }
        string[] missing = [.. binaries.Where(b => Binaries.TryFind(b) is null).Select(SystemPackages.Describe)];
        if (missing.Length == 0)
        {
            return;
        }
        string message = $"needs {string.Join(", ", binaries)}: missing {string.Join(", ", missing)}";
        if (IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: failing instead of skipping)");
        }
        Assert.Skip(message);
    }

    /// <summary>For tests whose tunnel config has `DNS =`: no resolvconf or systemd-resolved on the machine,
    /// since either would apply the tunnel's DNS to the host's resolver.</summary>
    public static void EnsureNoHostDnsManager()
    {
        var backend = JumpingVpn.Platform.Net.Linux.DnsConfigurator.Detect(Binaries.TryFind, Directory.Exists);
        if (backend == JumpingVpn.Platform.Net.Linux.DnsConfigurator.Backend.None)
        {
            return;
        }
        string message = $"the machine runs {backend} (DNS for the host): a tunnel with DNS = would change the host's resolver; run on a machine without resolvconf/systemd-resolved";
        if (IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: failing instead of skipping)");
        }
        Assert.Skip(message);
    }

    /// <summary>What every tunnel test needs before any binary: Linux, root and /dev/net/tun; the missing ones, named.</summary>
    public static List<string> MissingTunnelBasics()
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            missing.Add("Linux");
        }
        if (!Environment.IsPrivilegedProcess)
        {
            missing.Add("root");
        }
        if (!File.Exists("/dev/net/tun"))
        {
            missing.Add("/dev/net/tun");
        }
        return missing;
    }

    public static void Ensure(params string[] binaries)
    {
        List<string> missing = MissingTunnelBasics();
        if (Binaries.TryFind("ip") is null)
        {
            missing.Add("ip");
        }
        foreach (string binary in binaries)
        {
            if (binary == "jvpn")
            {
                if (!File.Exists(Binaries.JvpnDll))
                {
                    missing.Add(Binaries.JvpnDll);
                }
            }
            else
            {
                SystemPackages.EnsureListed(binary);
                if (Binaries.TryFind(binary) is null)
                {
                    missing.Add(SystemPackages.Describe(binary));
                }
            }
        }
        if (missing.Count == 0)
        {
            return;
        }
        string message = $"needs root, ip netns and {string.Join(", ", binaries)}: missing {string.Join(", ", missing)}";
        if (IsCi)
        {
            throw new InvalidOperationException(message + " (CI=true: failing instead of skipping)");
        }
        Assert.Skip(message);
    }
}
