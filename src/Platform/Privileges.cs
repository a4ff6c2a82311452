using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform;

/// <summary>Checks up front whether this process may configure network interfaces (Linux).</summary>
public static class Privileges
{
    private const int CapNetAdmin = 12;

    /// <summary>
    /// True when CAP_NET_ADMIN is in the effective capability set. The capability decides, not the uid:
    /// root inside a container often lacks it, and a non-root service can have it (AmbientCapabilities).
    /// Only if /proc cannot be read does euid 0 count as a yes.
    /// </summary>
    public static bool HasNetAdmin()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
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
}
