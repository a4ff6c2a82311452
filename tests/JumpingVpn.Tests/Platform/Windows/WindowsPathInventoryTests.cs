using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>
/// Which adapters the Windows path manager uses (docs/platform.md §3.2): connected adapters with a default
/// route of the server's family, not the tunnel's own, ranked by route + interface metric, each pinned
/// by its interface index. The OS reads (GetIpForwardTable2, the adapter list) are covered on Windows only;
/// the choice is pure and tested here.
/// </summary>
public sealed class WindowsPathInventoryTests
{
    private static DefaultRouteCandidate Route(uint index, uint routeMetric, uint interfaceMetric, bool connected = true) =>
        new(Luid: 0x0006_0000_0000_0000UL + index, index, routeMetric, interfaceMetric, connected);

    private static AdapterFacts Adapter(string name, uint index, string? address) =>
        new(name, index, address is null ? null : IPAddress.Parse(address));

    [Fact]
    public void Wifi_and_cellular_are_both_paths_best_metric_first_with_their_indexes()
    {
        List<UsableInterface> usable = WindowsPathInventory.Select(
            [Route(20, 0, 55), Route(12, 0, 35)],
            [Adapter("Cellular", 20, "10.64.3.7"), Adapter("Wi-Fi", 12, "192.168.1.23")],
            "jvpn0");

        Assert.Equal(
            [new UsableInterface("Wi-Fi", IPAddress.Parse("192.168.1.23"), 35, 12), new UsableInterface("Cellular", IPAddress.Parse("10.64.3.7"), 55, 20)],
            usable);
    }

    [Fact]
    public void The_tunnel_adapter_and_disconnected_or_routeless_adapters_are_not_paths()
    {
        List<UsableInterface> usable = WindowsPathInventory.Select(
            [Route(12, 0, 35), Route(30, 0, 5), Route(40, 0, 1, connected: false)],
            [Adapter("Wi-Fi", 12, "192.168.1.23"), Adapter("JVPN0", 30, "10.8.0.2"), Adapter("Ethernet", 40, "192.168.2.5"), Adapter("Bluetooth", 50, "192.168.44.2")],
            "jvpn0");

        Assert.Equal(["Wi-Fi"], usable.Select(u => u.Name)); // the tunnel matched case-insensitively, as Windows names do
    }

    [Fact]
    public void An_adapter_without_an_address_of_the_family_is_not_a_path()
    {
        List<UsableInterface> usable = WindowsPathInventory.Select(
            [Route(12, 0, 35), Route(20, 0, 55)],
            [Adapter("Wi-Fi", 12, null), Adapter("Cellular", 20, "10.64.3.7")],
            "jvpn0");

        Assert.Equal(["Cellular"], usable.Select(u => u.Name));
    }

    [Fact]
    public void Two_default_routes_on_one_adapter_give_one_path_with_the_better_metric()
    {
        List<UsableInterface> usable = WindowsPathInventory.Select(
            [Route(12, 256, 35), Route(12, 0, 35)],
            [Adapter("Wi-Fi", 12, "192.168.1.23")],
            "jvpn0");

        UsableInterface wifi = Assert.Single(usable);
        Assert.Equal(35, wifi.Metric);
    }

    [Fact]
    public void Equal_metrics_order_by_name_so_the_choice_is_stable()
    {
        List<UsableInterface> usable = WindowsPathInventory.Select(
            [Route(20, 0, 25), Route(12, 0, 25)],
            [Adapter("Wi-Fi", 12, "192.168.1.23"), Adapter("Ethernet", 20, "192.168.2.5")],
            "jvpn0");

        Assert.Equal(["Ethernet", "Wi-Fi"], usable.Select(u => u.Name));
    }
}
