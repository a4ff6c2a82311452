using System.Net;

namespace JumpingVpn.Platform.Net;

/// <summary>Interface addressing and routing, one implementation per OS.</summary>
public interface INetworkConfigurator
{
    void SetMtu(string device, int mtu);

    void AddAddress(string device, IPAddress address, int prefixLength);

    void SetUp(string device);

    /// <summary>Adds a route for <paramref name="prefix"/> through the device, in the main table or <paramref name="table"/>.</summary>
    void AddRoute(string device, IpPrefix prefix, string? table = null);

    void DeleteLink(string device);
}
