using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform;

/// <summary>Checks up front whether this process may configure network interfaces (Linux: CAP_NET_ADMIN;
/// Windows: an elevated Administrator or LocalSystem, which Wintun and IP Helper require, docs/platform.md §1.2).
/// Which check applies is the composition root's choice (Control's Hosting.HostComposition, docs/platform.md §8).</summary>
public static class Privileges
{
    private const int CapNetAdmin = 12;

    /// <summary>
    /// True when CAP_NET_ADMIN is in the effective capability set. The capability decides, not the uid:
    /// root inside a container often lacks it, and a non-root service can have it (AmbientCapabilities).
    /// Only if /proc cannot be read does euid 0 count as a yes.
    /// </summary>
    public static bool HasCapNetAdmin()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                {
                    ulong caps = Convert.ToUInt64(line[7..].Trim(), 16);
                    return (caps & (1UL << CapNetAdmin)) != 0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return LibC.GetEuid() == 0;
    }

    /// <summary>What to do when <see cref="HasCapNetAdmin"/> is false.</summary>
    public const string LinuxRequirement = "needs root or CAP_NET_ADMIN; run it with sudo";

    /// <summary>What to do when <see cref="IsElevatedAdministrator"/> is false.</summary>
    public const string WindowsRequirement = "needs an elevated Administrator (or the jvpn service, which runs as LocalSystem); run it from an elevated prompt";

    /// <summary>True for LocalSystem and for an elevated member of Administrators.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    public static bool IsElevatedAdministrator()
    {
        using var identity = System.Security.Principal.WindowsIdentity.GetCurrent();
        return identity.IsSystem
            || new System.Security.Principal.WindowsPrincipal(identity).IsInRole(System.Security.Principal.WindowsBuiltInRole.Administrator);
    }
}
