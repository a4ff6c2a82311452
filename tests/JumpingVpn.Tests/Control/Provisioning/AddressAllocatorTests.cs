using System.Net;
using JumpingVpn.Control.Provisioning;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Tests.Control.Provisioning;

public class AddressAllocatorTests
{
    private static IpPrefix P(string s) => IpPrefix.Parse(s);

    [Fact]
    public void SkipsNetworkServerAndUsedHosts()
    {
        IPAddress? next = AddressAllocator.NextFree(P("10.77.0.0/24"), [P("10.77.0.1/32"), P("10.77.0.2/32"), P("10.77.0.4/32")]);
        Assert.Equal(IPAddress.Parse("10.77.0.3"), next);
    }

    [Fact]
    public void JumpsOverUsedBlocksAndIgnoresRoutesWiderThanThePool()
    {
        IPAddress? next = AddressAllocator.NextFree(P("10.77.0.0/24"), [P("0.0.0.0/0"), P("10.77.0.0/29"), P("10.77.0.8/32")]);
        Assert.Equal(IPAddress.Parse("10.77.0.9"), next);
    }

    [Fact]
    public void FullSubnetReturnsNullAndNeverHandsOutBroadcast()
    {
        // /30: hosts .1 and .2 only (.0 network, .3 broadcast).
        Assert.Null(AddressAllocator.NextFree(P("10.77.0.0/30"), [P("10.77.0.1/32"), P("10.77.0.2/32")]));
        var used = new List<IpPrefix>();
        for (int i = 1; i <= 253; i++)
        {
            used.Add(P($"10.77.0.{i}/32"));
        }
        Assert.Equal(IPAddress.Parse("10.77.0.254"), AddressAllocator.NextFree(P("10.77.0.0/24"), used));
        used.Add(P("10.77.0.254/32"));
        Assert.Null(AddressAllocator.NextFree(P("10.77.0.0/24"), used));
    }

    [Fact]
    public void Ipv6SkipsSubnetRouterAnycastAndLargeUsedBlocksCheaply()
    {
        Assert.Equal(IPAddress.Parse("fd77::2"), AddressAllocator.NextFree(P("fd77::/64"), [P("fd77::1/128")]));
        // A peer owning half the /64 is one jump, not 2^63 steps.
        Assert.Equal(IPAddress.Parse("fd77::8000:0:0:0"), AddressAllocator.NextFree(P("fd77::/64"), [P("fd77::/65")]));
    }

    [Fact]
    public void IgnoresOtherFamily() =>
        Assert.Equal(IPAddress.Parse("10.0.0.1"), AddressAllocator.NextFree(P("10.0.0.0/24"), [P("fd00::1/128")]));
}
