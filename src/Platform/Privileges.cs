using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform;

/// <summary>Checks up front whether this process may configure network interfaces (Linux).</summary>
public static class Privileges
{
    private const int CapNetAdmin = 12;

    /// <summary>True when running as root or with CAP_NET_ADMIN in the effective capability set.</summary>
    public static bool HasNetAdmin()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        if (LibC.GetEuid() == 0)
        {
            return true;
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
        return false;
    }
}
