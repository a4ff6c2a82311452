using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Control.Config;

/// <summary>
/// One [Interface] Address entry. Unlike <see cref="IpPrefix"/> (a network, host bits masked away) this
/// keeps the host address: "Address = 10.0.0.2/24" means "this interface is 10.0.0.2 on a /24", exactly as
/// wg-quick hands it to `ip address add`.
/// </summary>
public readonly record struct InterfaceAddress
{
    public InterfaceAddress(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, IpPrefix.MaxLength(address.AddressFamily));
        Address = address;
        PrefixLength = prefixLength;
    }

    public IPAddress Address { get; }
    public int PrefixLength { get; }
    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary>The on-link network this address sits in (host bits masked).</summary>
    public IpPrefix Network => new(Address, PrefixLength);

    public override string ToString() =>
        $"{Address}/{PrefixLength.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
