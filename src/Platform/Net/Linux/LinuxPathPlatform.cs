using System.Net;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>Paths on Linux: rtnetlink events (<see cref="RouteMonitor"/>), the kernel's route tables
/// (<see cref="PathInventory"/>) and SO_BINDTODEVICE sockets (<see cref="UdpTransport.BindToInterface"/>).</summary>
public sealed class LinuxPathPlatform : IPathPlatform
{
    public IDisposable Watch(Action changed)
    {
        RouteMonitor monitor = RouteMonitor.Start();
        monitor.Changed += changed;
        return monitor;
    }

    public List<UsableInterface> Scan(IPAddress server, string tunnelName) => PathInventory.Scan(server, tunnelName);

    public UdpTransport Bind(UsableInterface path) => UdpTransport.BindToInterface(path.Name);
}
