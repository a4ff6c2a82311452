using System.Net;
using System.Net.Sockets;
using JumpingVpn.Control.Config;

namespace JumpingVpn.Tests.Control.Config;

public class ConfigEndpointTests
{
    [Theory]
    [InlineData("192.0.2.1", 51820, "192.0.2.1:51820")]
    [InlineData("2001:db8::1", 51820, "[2001:db8::1]:51820")]
    [InlineData("vpn.example.com", 1, "vpn.example.com:1")]
    public void ToStringBracketsIPv6(string host, int port, string expected) =>
        Assert.Equal(expected, new ConfigEndpoint(host, port, host.Contains(':', StringComparison.Ordinal) || char.IsAsciiDigit(host[0])).ToString());

    [Fact]
    public void LiteralResolvesWithoutDns() =>
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 7), new ConfigEndpoint("2001:db8::1", 7, isLiteral: true).Resolve(AddressFamily.InterNetwork));

    [Fact]
    public void LocalhostResolvesToLoopbackPreferringTheFamily()
    {
        IPEndPoint ep = new ConfigEndpoint("localhost", 51820, isLiteral: false).Resolve(AddressFamily.InterNetwork);
        Assert.True(IPAddress.IsLoopback(ep.Address));
        Assert.Equal(51820, ep.Port);
    }

    [Fact]
    public async Task UnresolvableHostNamesTheHostFileAndLine()
    {
        // RFC 6761 §6.4: .invalid never resolves.
        var ep = new ConfigEndpoint("no-such-host.invalid", 51820, isLiteral: false) { SourceName = "wg0.conf", Line = 9 };

        ConfigException e = Assert.Throws<ConfigException>(() => ep.Resolve());
        Assert.StartsWith("wg0.conf:9: Endpoint: cannot resolve host `no-such-host.invalid`", e.Message, StringComparison.Ordinal);

        ConfigException e2 = await Assert.ThrowsAsync<ConfigException>(() => ep.ResolveAsync(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(e.Message.Split(" (")[0], e2.Message.Split(" (")[0]);
    }

    [Fact]
    public void EqualityIgnoresSourceAndHostCase() =>
        Assert.Equal(new ConfigEndpoint("VPN.example.com", 1, false) { Line = 3 }, new ConfigEndpoint("vpn.example.com", 1, false));
}
