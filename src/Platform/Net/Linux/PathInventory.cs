using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// Which interfaces can carry the tunnel toward a server (docs/design.md §4 "one UDP socket per usable
/// interface"): operationally up, not loopback and not the tunnel itself, with an address of the server's
/// family and a route in the main table that covers the server (a default route or a more specific one).
/// Reads /proc/net/route, /proc/net/ipv6_route and getifaddrs (through NetworkInterface): cheap enough to
/// run on every netlink event, no child processes.
/// </summary>
public static class PathInventory
{
    private const int RtfUp = 0x1;

    public static List<UsableInterface> Scan(IPAddress server, string tunnelName)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.IsIPv4MappedToIPv6)
        {
            server = server.MapToIPv4();
        }
        Dictionary<string, int> routes = server.AddressFamily == AddressFamily.InterNetwork
            ? RoutesV4(SafeRead("/proc/net/route"), server)
            : RoutesV6(SafeRead("/proc/net/ipv6_route"), server);
        var usable = new List<UsableInterface>();
        foreach (NetworkInterface nic in NetworkInterfaces.All())
        {
            if (nic.Name == tunnelName || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback
                || nic.OperationalStatus is not (OperationalStatus.Up or OperationalStatus.Unknown)
                || !routes.TryGetValue(nic.Name, out int metric))
            {
                continue;
            }
            IPAddress? local = NetworkInterfaces.SourceAddress(nic.GetIPProperties(), server.AddressFamily);
            if (local is not null)
            {
                usable.Add(new UsableInterface(nic.Name, local, metric));
            }
        }
        usable.Sort((a, b) => a.Metric != b.Metric ? a.Metric.CompareTo(b.Metric) : string.CompareOrdinal(a.Name, b.Name));
        return usable;
    }

    /// <summary>
    /// /proc/net/route: Iface, Destination, Gateway, Flags, RefCnt, Use, Metric, Mask, ... with addresses as
    /// the host-order hex of the network-order word, so they compare directly with the server's bytes read
    /// the same way. Returns the best (lowest) metric per interface among up routes covering the server.
    /// </summary>
    internal static Dictionary<string, int> RoutesV4(string table, IPAddress server)
    {
        var best = new Dictionary<string, int>(StringComparer.Ordinal);
        uint target = BitConverter.ToUInt32(server.GetAddressBytes());
        foreach (string line in table.Split('\n'))
        {
            string[] f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length < 8 || f[0] == "Iface"
                || !uint.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint dest)
                || !int.TryParse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int flags)
                || !int.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out int metric)
                || !uint.TryParse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint mask))
            {
                continue;
            }
            if ((flags & RtfUp) != 0 && (target & mask) == (dest & mask))
            {
                Keep(best, f[0], metric);
            }
        }
        return best;
    }

    /// <summary>/proc/net/ipv6_route: dest(32 hex) plen(2 hex) src plen nexthop metric(8 hex) refcnt use flags iface.</summary>
    internal static Dictionary<string, int> RoutesV6(string table, IPAddress server)
    {
        var best = new Dictionary<string, int>(StringComparer.Ordinal);
        byte[] target = server.GetAddressBytes();
        foreach (string line in table.Split('\n'))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[0].Length != 32
                || !int.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int plen)
                || !uint.TryParse(f[5], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint metric)
                || !uint.TryParse(f[8], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint flags))
            {
                continue;
            }
            byte[] dest = Convert.FromHexString(f[0]);
            if ((flags & RtfUp) != 0 && f[9] != "lo" && PrefixMatches(dest, target, plen))
            {
                Keep(best, f[9], (int)Math.Min(metric, int.MaxValue));
            }
        }
        return best;
    }

    private static bool PrefixMatches(byte[] prefix, byte[] address, int length)
    {
        for (int bit = 0; bit < length; bit++)
        {
            int mask = 0x80 >> (bit % 8);
            if ((prefix[bit / 8] & mask) != (address[bit / 8] & mask))
            {
                return false;
            }
        }
        return true;
    }

    private static void Keep(Dictionary<string, int> best, string name, int metric)
    {
        if (!best.TryGetValue(name, out int current) || metric < current)
        {
            best[name] = metric;
        }
    }

    private static string SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
