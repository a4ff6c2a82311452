using System.Net;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Platform.Net;

/// <summary>
/// The OS side of the client's path manager (docs/design.md §4): which interfaces can reach the server, a
/// notification when links, addresses or routes change, and a UDP socket that sends through exactly one
/// interface. One implementation per OS (rtnetlink + /proc + SO_BINDTODEVICE on Linux; IP Helper
/// notifications and tables + IP_UNICAST_IF on Windows); the path logic above it is the same everywhere.
/// </summary>
public interface IPathPlatform
{
    /// <summary>Starts watching; <paramref name="changed"/> runs on the watcher's own thread, on the first
    /// event of a burst. Throws <see cref="PlatformException"/> or <see cref="PlatformNotSupportedException"/>
    /// when notifications are unavailable (the caller then relies on periodic rescans).</summary>
    IDisposable Watch(Action changed);

    /// <summary>The interfaces that can reach <paramref name="server"/>, best metric first, without the
    /// tunnel interface itself.</summary>
    List<UsableInterface> Scan(IPAddress server, string tunnelName);

    /// <summary>A UDP socket (ephemeral port) whose packets leave only through <paramref name="path"/>.
    /// Throws <see cref="PlatformException"/> when the OS refuses.</summary>
    UdpTransport Bind(UsableInterface path);
}
