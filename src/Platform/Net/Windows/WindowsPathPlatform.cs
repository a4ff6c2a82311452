using System.Net;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>
/// Paths on Windows (docs/platform.md §3.2, §3.3): route, address and interface notifications from
/// <see cref="WindowsRouteChangeWatcher"/>, adapters with a default route from
/// <see cref="WindowsPathInventory"/>, and sockets pinned with IP_UNICAST_IF to the adapter's index, so a
/// path's packets leave through that adapter even when a full tunnel owns the default route.
/// </summary>
public sealed class WindowsPathPlatform : IPathPlatform
{
    public IDisposable Watch(Action changed)
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("IP Helper change notifications exist only on Windows");
        }
        var watcher = new WindowsRouteChangeWatcher();
        try
        {
            watcher.Changed += _ => changed();
            watcher.Start();
            return watcher;
        }
        catch
        {
            watcher.Dispose();
            throw;
        }
    }

    public List<UsableInterface> Scan(IPAddress server, string tunnelName)
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the Windows path inventory reads IP Helper tables, which exist only on Windows");
        }
        return WindowsPathInventory.Scan(server, tunnelName);
    }

    public UdpTransport Bind(UsableInterface path)
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("IP_UNICAST_IF pinning exists only on Windows");
        }
        UdpTransport udp = UdpTransport.BindUnbatched(0);
        try
        {
            udp.PinToInterface(path.Index);
            return udp;
        }
        catch
        {
            udp.Dispose();
            throw;
        }
    }
}
