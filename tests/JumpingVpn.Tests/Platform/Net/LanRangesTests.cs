using System.Net;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Tests.Platform.Net;

/// <summary>Which connected subnets "allow LAN" opens (docs/platform.md §4.8): only their private and link-local
/// parts, each once, never a host prefix.</summary>
public sealed class LanRangesTests
{
    [Theory]
    [InlineData("192.168.1.23", 24, "192.168.1.0/24")]
    [InlineData("10.202.7.2", 24, "10.202.7.0/24")]
    [InlineData("172.20.0.5", 16, "172.20.0.0/16")]
    [InlineData("169.254.3.4", 16, "169.254.0.0/16")]
    [InlineData("fe80::1c2:3ff:fe44:5566", 64, "fe80::/64")]
    [InlineData("fd12:3456:789a::2", 64, "fd12:3456:789a::/64")]
    [InlineData("10.1.2.3", 6, "10.0.0.0/8")] // wider than the range: only the range
    public void A_private_subnet_is_the_lan(string address, int length, string expected)
    {
        Assert.Equal(IpPrefix.Parse(expected), LanRanges.PrivatePart(IPAddress.Parse(address), length));
    }

    [Theory]
    [InlineData("203.0.113.7", 24)] // public
    [InlineData("100.64.1.2", 10)] // carrier-grade NAT is the carrier's network, not the LAN
    [InlineData("2001:db8::2", 64)] // global IPv6
    [InlineData("192.168.1.2", 32)] // a host prefix has no neighbours
    [InlineData("172.32.0.1", 16)] // just outside 172.16.0.0/12
    public void Anything_else_is_not(string address, int length)
    {
        Assert.Null(LanRanges.PrivatePart(IPAddress.Parse(address), length));
    }

    [Fact]
    public void Each_subnet_counts_once_per_interface_and_the_count_is_bounded()
    {
        var addresses = new List<(string, IPAddress, int)>
        {
            ("wlan0", IPAddress.Parse("192.168.1.2"), 24),
            ("wlan0", IPAddress.Parse("192.168.1.3"), 24),
            ("wlan0", IPAddress.Parse("198.51.100.2"), 24),
            ("eth0", IPAddress.Parse("192.168.1.4"), 24),
        };
        for (int i = 0; i < 40; i++)
        {
            addresses.Add(("eth1", IPAddress.Parse($"10.{i}.0.1"), 16));
        }

        List<LanSubnet> lan = LanRanges.Of(addresses);

        Assert.Equal(new LanSubnet("wlan0", IpPrefix.Parse("192.168.1.0/24")), lan[0]);
        Assert.Equal(new LanSubnet("eth0", IpPrefix.Parse("192.168.1.0/24")), lan[1]);
        Assert.Equal(LanRanges.MaxSubnets, lan.Count);
    }

    [Fact]
    public void The_loopback_interface_has_no_lan_and_an_unknown_name_reads_nothing()
    {
        Assert.Empty(LanInventory.Read(["lo"]));
        Assert.Empty(LanInventory.Read(["jvnosuchif0"]));
    }
}
