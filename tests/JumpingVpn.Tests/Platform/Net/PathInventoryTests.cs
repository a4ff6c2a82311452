using System.Net;
using JumpingVpn.Platform.Net.Linux;

namespace JumpingVpn.Tests.Platform.Net;

/// <summary>Which interfaces have a route to the server, from the kernel's /proc route tables.</summary>
public sealed class PathInventoryTests
{
    // Two default routes (wifi metric 100, cell metric 200), a connected subnet, a down route.
    private const string RouteV4 =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
        "wifi0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
        "cell0\t00000000\t01010A0A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n" +
        "wifi0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
        "dead0\t00000000\t01020A0A\t0002\t0\t0\t50\t00000000\t0\t0\t0\n" +
        "lan0\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

    [Fact]
    public void Default_routes_cover_any_server_and_keep_the_best_metric()
    {
        Dictionary<string, int> routes = PathInventory.RoutesV4(RouteV4, IPAddress.Parse("203.0.113.7"));
        Assert.Equal(100, routes["wifi0"]);
        Assert.Equal(200, routes["cell0"]);
        Assert.False(routes.ContainsKey("dead0")); // not RTF_UP
        Assert.False(routes.ContainsKey("lan0"));  // 192.168.0.0/16 does not cover the server
    }

    [Fact]
    public void A_specific_route_covers_only_its_prefix()
    {
        Dictionary<string, int> routes = PathInventory.RoutesV4(RouteV4, IPAddress.Parse("192.168.7.9"));
        Assert.Equal(0, routes["lan0"]);
        Assert.Equal(100, routes["wifi0"]); // its 192.168.1.0/24 does not cover .7.9: only the default does
        Assert.Equal(0, PathInventory.RoutesV4(RouteV4, IPAddress.Parse("192.168.1.9"))["wifi0"]);
    }

    [Fact]
    public void Ipv6_routes_match_by_prefix_length_and_skip_loopback()
    {
        const string table =
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003    wifi0\n" +
            "20010db8000000000000000000000000 20 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001    cell0\n" +
            "20010db8000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000001 00000000 80200001       lo\n";
        Dictionary<string, int> routes = PathInventory.RoutesV6(table, IPAddress.Parse("2001:db8::1"));
        Assert.Equal(0x400, routes["wifi0"]);
        Assert.Equal(0x100, routes["cell0"]);
        Assert.False(routes.ContainsKey("lo"));
        Assert.False(PathInventory.RoutesV6(table, IPAddress.Parse("2001:db9::1")).ContainsKey("cell0"));
    }
}
