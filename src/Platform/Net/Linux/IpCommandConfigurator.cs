using System.Net;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>Linux addressing and routes through `ip`, following what wg-quick(8) runs for each step.</summary>
public sealed class IpCommandConfigurator : INetworkConfigurator
{
    public void SetMtu(string device, int mtu) => IpCommand.Run("link", "set", "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture), "up", "dev", device);

    /// <summary>
    /// Adds an address; re-adding one the device already has succeeds (a restart after a crash may find
    /// it). Kernels word the duplicate error differently ("File exists", "Address already assigned"), so
    /// the check asks the device instead of matching the message.
    /// </summary>
    public void AddAddress(string device, IPAddress address, int prefixLength)
    {
        string cidr = $"{address}/{prefixLength}";
        (bool ok, _, string error) = IpCommand.Run(false, Family(address), "address", "add", cidr, "dev", device);
        if (ok)
        {
            return;
        }
        (bool shown, string output, _) = IpCommand.Run(false, Family(address), "-o", "address", "show", "dev", device);
        if (shown && output.Contains($" {cidr} ", StringComparison.Ordinal))
        {
            return;
        }
        throw new PlatformException($"'ip {Family(address)} address add {cidr} dev {device}' failed: {error}");
    }

    public void SetUp(string device) => IpCommand.Run("link", "set", "up", "dev", device);

    /// <summary>
    /// wg-quick add_route: skip a prefix the device already routes (e.g. covered by its own address's
    /// connected route), otherwise `ip route add PREFIX dev DEV`.
    /// </summary>
    public void AddRoute(string device, IpPrefix prefix, string? table = null)
    {
        string fam = prefix.IsIPv4 ? "-4" : "-6";
        if (table is null)
        {
            (bool ok, string output, _) = IpCommand.Run(false, fam, "route", "show", "dev", device, "match", prefix.ToString());
            if (ok && output.Trim().Length > 0 && prefix.Length > 0)
            {
                return;
            }
            IpCommand.Run(fam, "route", "add", prefix.ToString(), "dev", device);
        }
        else
        {
            IpCommand.Run(fam, "route", "add", prefix.ToString(), "dev", device, "table", table);
        }
    }

    public void DeleteLink(string device) => IpCommand.Run(false, "link", "del", "dev", device);

    private static string Family(IPAddress a) => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "-6" : "-4";
}
