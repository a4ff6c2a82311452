using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Platform.Net.KillSwitch;

/// <summary>
/// Which connected subnets count as "the LAN" for the kill switch (docs/platform.md §4.8 "Allow LAN"): only the
/// parts of an interface's subnet that lie in the private and link-local ranges (RFC 1918, 169.254.0.0/16,
/// fe80::/10, fc00::/7), so a public subnet a link happens to be on never becomes a hole around the tunnel.
/// A pure function of the interfaces' addresses; reading them is <see cref="LanInventory"/>'s.
/// </summary>
public static class LanRanges
{
    /// <summary>At most this many subnets are allowed (a bound the Windows filter keys need; no real link has more).</summary>
    public const int MaxSubnets = 32;

    /// <summary>The ranges a LAN subnet must fall in.</summary>
    public static IReadOnlyList<IpPrefix> Private { get; } =
    [
        IpPrefix.Parse("10.0.0.0/8"),
        IpPrefix.Parse("172.16.0.0/12"),
        IpPrefix.Parse("192.168.0.0/16"),
        IpPrefix.Parse("169.254.0.0/16"),
        IpPrefix.Parse("fe80::/10"),
        IpPrefix.Parse("fc00::/7"),
    ];

    /// <summary>
    /// The private part of the subnet <paramref name="address"/>/<paramref name="prefixLength"/>: the subnet itself
    /// when a private range contains it, the range when the subnet is wider than it, null when they do not overlap
    /// or the address has no subnet (a host prefix: a point-to-point link has no neighbours to allow).
    /// </summary>
    public static IpPrefix? PrivatePart(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        IPAddress a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (a.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            || prefixLength < 0 || prefixLength >= IpPrefix.MaxLength(a.AddressFamily))
        {
            return null;
        }
        if (a.AddressFamily == AddressFamily.InterNetworkV6 && a.ScopeId != 0)
        {
            a = new IPAddress(a.GetAddressBytes());
        }
        var subnet = new IpPrefix(a, prefixLength);
        foreach (IpPrefix range in Private)
        {
            if (range.Address.AddressFamily != a.AddressFamily)
            {
                continue;
            }
            if (subnet.Length >= range.Length && range.Contains(subnet.Address))
            {
                return subnet;
            }
            if (subnet.Length < range.Length && subnet.Contains(range.Address))
            {
                return range;
            }
        }
        return null;
    }

    /// <summary>The LAN subnets of the given interface addresses, each once, in the order given, at most
    /// <see cref="MaxSubnets"/>.</summary>
    public static List<LanSubnet> Of(IEnumerable<(string Interface, IPAddress Address, int PrefixLength)> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var lan = new List<LanSubnet>();
        foreach ((string iface, IPAddress address, int length) in addresses)
        {
            if (PrivatePart(address, length) is IpPrefix p && !lan.Contains(new LanSubnet(iface, p)) && lan.Count < MaxSubnets)
            {
                lan.Add(new LanSubnet(iface, p));
            }
        }
        return lan;
    }
}
