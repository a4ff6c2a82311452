using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.Versioning;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>What the inventory needs to know of one network adapter: its alias (what `[Jumping] Interfaces`
/// names, e.g. "Wi-Fi"), its interface index for the server's family, and its first unicast address of
/// that family that is not link-local (null when it has none).</summary>
public readonly record struct AdapterFacts(string Name, uint Index, IPAddress? Address);

/// <summary>
/// Which adapters can carry the tunnel toward a server on Windows (docs/design.md §4, docs/platform.md §3.2): every
/// connected adapter with a default route of the server's family, other than the tunnel's own adapter,
/// ranked by route metric + interface metric as Windows itself ranks them. Only default routes count: the
/// roaming case (Wi-Fi and cellular each with its own gateway) is what the path manager is for; a server
/// reached through a more specific route alone is served by the primary socket.
/// </summary>
public static class WindowsPathInventory
{
    /// <summary>The pure choice, testable anywhere: one entry per adapter (its best default route).</summary>
    public static List<UsableInterface> Select(ReadOnlySpan<DefaultRouteCandidate> defaultRoutes, IReadOnlyList<AdapterFacts> adapters, string tunnelName)
    {
        var best = new Dictionary<uint, ulong>();
        foreach (DefaultRouteCandidate c in defaultRoutes)
        {
            if (!c.Connected)
            {
                continue;
            }
            ulong metric = (ulong)c.RouteMetric + c.InterfaceMetric;
            if (!best.TryGetValue(c.InterfaceIndex, out ulong known) || metric < known)
            {
                best[c.InterfaceIndex] = metric;
            }
        }
        var usable = new List<UsableInterface>();
        foreach (AdapterFacts a in adapters)
        {
            if (a.Address is null || a.Index == 0 || string.Equals(a.Name, tunnelName, StringComparison.OrdinalIgnoreCase)
                || !best.TryGetValue(a.Index, out ulong metric))
            {
                continue;
            }
            usable.Add(new UsableInterface(a.Name, a.Address, (int)Math.Min(metric, int.MaxValue), a.Index));
        }
        usable.Sort((x, y) => x.Metric != y.Metric ? x.Metric.CompareTo(y.Metric) : string.CompareOrdinal(x.Name, y.Name));
        return usable;
    }

    /// <summary>Reads the default routes (GetIpForwardTable2) and the adapters, and selects.</summary>
    [SupportedOSPlatform("windows")]
    public static List<UsableInterface> Scan(IPAddress server, string tunnelName)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.IsIPv4MappedToIPv6)
        {
            server = server.MapToIPv4();
        }
        bool v6 = server.AddressFamily == AddressFamily.InterNetworkV6;
        List<DefaultRouteCandidate> routes = DefaultRouteInterface.Read(v6 ? Interop.Windows.IpHelperConstants.AfInet6 : Interop.Windows.IpHelperConstants.AfInet);
        return Select([.. routes], Adapters(server.AddressFamily), tunnelName);
    }

    private static List<AdapterFacts> Adapters(AddressFamily family)
    {
        var adapters = new List<AdapterFacts>();
        foreach (NetworkInterface nic in NetworkInterfaces.All())
        {
            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback || nic.OperationalStatus != OperationalStatus.Up)
            {
                continue;
            }
            IPInterfaceProperties properties = nic.GetIPProperties();
            uint index;
            try
            {
                index = (uint)(family == AddressFamily.InterNetworkV6 ? properties.GetIPv6Properties().Index : properties.GetIPv4Properties().Index);
            }
            catch (NetworkInformationException)
            {
                continue; // the family is not enabled on this adapter
            }
            adapters.Add(new AdapterFacts(nic.Name, index, NetworkInterfaces.SourceAddress(properties, family)));
        }
        return adapters;
    }
}
