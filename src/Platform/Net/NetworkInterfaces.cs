using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace JumpingVpn.Platform.Net;

/// <summary>What both path inventories (Linux, Windows) read from the BCL's interface list.</summary>
internal static class NetworkInterfaces
{
    /// <summary>Every interface, or none when the OS list cannot be read right now (the next scan retries).</summary>
    public static NetworkInterface[] All()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    /// <summary>The address a path socket would send from: the interface's first unicast address of
    /// <paramref name="family"/> that is not IPv6 link-local; null when it has none.</summary>
    public static IPAddress? SourceAddress(IPInterfaceProperties properties, AddressFamily family)
    {
        foreach (UnicastIPAddressInformation a in properties.UnicastAddresses)
        {
            if (a.Address.AddressFamily == family && !a.Address.IsIPv6LinkLocal)
            {
                return a.Address;
            }
        }
        return null;
    }
}
