using System.Net;
using System.Net.NetworkInformation;

namespace JumpingVpn.Platform.Net.KillSwitch;

/// <summary>
/// Reads the directly connected subnets of the named interfaces (docs/platform.md §4.8 "Allow LAN") from the OS's
/// interface list (getifaddrs on Linux, IP Helper on Windows, through the BCL), keeping the private parts
/// (<see cref="LanRanges"/>). Cheap: no child process, so it can run on every link or address change.
/// </summary>
public static class LanInventory
{
    public static List<LanSubnet> Read(IReadOnlyCollection<string> interfaces)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        var addresses = new List<(string, IPAddress, int)>();
        foreach (NetworkInterface nic in NetworkInterfaces.All())
        {
            // A name nft cannot hold in a rule is no path interface jvpn uses either (docs/platform.md §4.8).
            if (!interfaces.Contains(nic.Name) || !IsRuleName(nic.Name) || nic.OperationalStatus is not (OperationalStatus.Up or OperationalStatus.Unknown))
            {
                continue;
            }
            foreach (UnicastIPAddressInformation a in nic.GetIPProperties().UnicastAddresses)
            {
                addresses.Add((nic.Name, a.Address, a.PrefixLength));
            }
        }
        return LanRanges.Of(addresses);
    }

    private static bool IsRuleName(string name)
    {
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '=' or '+' or '.' or '-'))
            {
                return false;
            }
        }
        return name.Length > 0;
    }
}
