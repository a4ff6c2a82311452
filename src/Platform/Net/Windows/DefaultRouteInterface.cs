using System.Net.Sockets;
using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>One default route as the picker sees it.</summary>
/// <param name="Luid">The route's interface NET_LUID.</param>
/// <param name="InterfaceIndex">Its interface index (what IP_UNICAST_IF takes).</param>
/// <param name="RouteMetric">MIB_IPFORWARD_ROW2.Metric.</param>
/// <param name="InterfaceMetric">MIB_IPINTERFACE_ROW.Metric of that interface and family.</param>
/// <param name="Connected">MIB_IPINTERFACE_ROW.Connected.</param>
public readonly record struct DefaultRouteCandidate(ulong Luid, uint InterfaceIndex, uint RouteMetric, uint InterfaceMetric, bool Connected);

/// <summary>
/// Which physical interface the encrypted UDP socket is pinned to (IP_UNICAST_IF) so a full tunnel's
/// 0.0.0.0/0 on the Wintun adapter cannot capture it: wireguard-windows' bindSocketRoute
/// (tunnel/defaultroutemonitor.go, docs/platform.md §3.2 A) — among default routes (prefix length 0) not on
/// the tunnel's own LUID and on a connected interface, the lowest route metric + interface metric wins.
/// 0 means "none": the socket is unpinned.
/// </summary>
public static class DefaultRouteInterface
{
    /// <summary>The pure choice (ties keep the first candidate).</summary>
    public static uint Pick(ReadOnlySpan<DefaultRouteCandidate> defaultRoutes, ulong tunnelLuid)
    {
        uint best = 0;
        ulong bestMetric = ulong.MaxValue;
        foreach (DefaultRouteCandidate c in defaultRoutes)
        {
            if (c.Luid == tunnelLuid || !c.Connected)
            {
                continue;
            }
            ulong metric = (ulong)c.RouteMetric + c.InterfaceMetric;
            if (metric < bestMetric)
            {
                bestMetric = metric;
                best = c.InterfaceIndex;
            }
        }
        return best;
    }

    /// <summary>Reads the default routes of <paramref name="family"/> (IPv4 or IPv6) and picks one.</summary>
    [SupportedOSPlatform("windows")]
    public static uint Find(AddressFamily family, ulong tunnelLuid) =>
        Pick([.. Read(family == AddressFamily.InterNetworkV6 ? IpHelperConstants.AfInet6 : IpHelperConstants.AfInet)], tunnelLuid);

    [SupportedOSPlatform("windows")]
    internal static unsafe List<DefaultRouteCandidate> Read(ushort family)
    {
        var result = new List<DefaultRouteCandidate>();
        MibIpForwardTable2* table = null;
        uint status = IpHelper.GetIpForwardTable2(family, &table);
        if (status != IpHelperConstants.NoError)
        {
            throw new PlatformException($"GetIpForwardTable2 failed: {new System.ComponentModel.Win32Exception((int)status).Message}", (int)status);
        }
        try
        {
            MibIpForwardRow2* rows = &table->Table;
            for (uint i = 0; i < table->NumEntries; i++)
            {
                MibIpForwardRow2* route = rows + i;
                if (route->DestinationPrefix.PrefixLength != 0)
                {
                    continue;
                }
                MibIpInterfaceRow iface;
                IpHelper.InitializeIpInterfaceEntry(&iface);
                iface.Family = family;
                iface.InterfaceLuid = route->InterfaceLuid;
                if (IpHelper.GetIpInterfaceEntry(&iface) != IpHelperConstants.NoError)
                {
                    continue; // the interface went away between the two calls
                }
                result.Add(new DefaultRouteCandidate(route->InterfaceLuid, route->InterfaceIndex, route->Metric, iface.Metric, iface.Connected != 0));
            }
        }
        finally
        {
            IpHelper.FreeMibTable(table);
        }
        return result;
    }
}
