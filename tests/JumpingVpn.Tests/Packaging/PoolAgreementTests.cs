using System.Net;
using System.Text.RegularExpressions;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Provisioning;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Packaging;

/// <summary>
/// The client pool the packaging shows an operator (the example configs, packaging/README.md, the postinst's
/// NAT example) is the one `jvpn server init` actually uses (<see cref="ServerInit.DefaultAddress"/>), so a
/// server set up by the README and NAT set up by its forwarding example cover the same addresses.
/// </summary>
public sealed partial class PoolAgreementTests
{
    private static readonly IpPrefix Pool = new(
        IPAddress.Parse(ServerInit.DefaultAddress.Split('/')[0]), int.Parse(ServerInit.DefaultAddress.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData("packaging/linux/etc/server.conf.example")]
    [InlineData("packaging/linux/etc/client.conf.example")]
    public void Example_configs_use_the_server_init_pool(string file)
    {
        string text = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), file))
            .Replace("<PLACEHOLDER_SERVER_PRIVATE_KEY>", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", StringComparison.Ordinal)
            .Replace("<PLACEHOLDER_CLIENT_PRIVATE_KEY>", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", StringComparison.Ordinal)
            .Replace("<PLACEHOLDER_SERVER_PUBLIC_KEY>", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", StringComparison.Ordinal)
            .Replace("<PLACEHOLDER_CLIENT_PUBLIC_KEY>", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", StringComparison.Ordinal)
            .Replace("<PLACEHOLDER_SERVER_HOST>", "192.0.2.1", StringComparison.Ordinal);
        JumpingVpn.Control.Config.TunnelConfig config = TunnelConfigParser.Parse(text, file, "jvpn0");

        foreach (InterfaceAddress a in config.Interface.Addresses)
        {
            Assert.True(Pool.Contains(a.Address), $"{file}: Address {a} is outside the pool {Pool} that `jvpn server init` uses");
        }
        foreach (PeerSection p in config.Peers)
        {
            foreach (IpPrefix allowed in p.AllowedIps)
            {
                Assert.True(Pool.Contains(allowed.Address), $"{file}: AllowedIPs {allowed} is outside the pool {Pool}");
            }
        }
    }

    [Theory]
    [InlineData("packaging/README.md")]
    [InlineData("packaging/linux/debian/postinst")]
    public void Documented_addresses_and_pools_are_the_server_init_pool(string file)
    {
        string text = File.ReadAllText(Path.Combine(RepositoryRoot.Find(), file));
        var outside = new List<string>();
        foreach (Match m in TunnelAddress().Matches(text))
        {
            if (!Pool.Contains(IPAddress.Parse(m.Groups["address"].Value)))
            {
                outside.Add(m.Value);
            }
        }
        Assert.True(outside.Count == 0, $"{file} names {string.Join(", ", outside)}, outside the pool {Pool} that `jvpn server init` uses");
    }

    /// <summary>Private 10/8 addresses, with or without a prefix: the pools and tunnel addresses the text shows.</summary>
    [GeneratedRegex(@"\b(?<address>10\.\d{1,3}\.\d{1,3}\.\d{1,3})(?:/\d{1,2})?\b")]
    private static partial Regex TunnelAddress();
}
