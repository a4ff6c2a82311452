using JumpingVpn.Platform.Tun.Linux;
using JumpingVpn.Platform.Tun.Windows;

namespace JumpingVpn.Platform.Tun;

/// <summary>The one place that picks the TUN implementation for the running OS.</summary>
public static class TunFactory
{
    /// <summary>
    /// Linux: /dev/net/tun (with virtio-net offloads when <paramref name="offload"/>). Windows: a Wintun
    /// adapter named <paramref name="name"/> (Wintun has no offload switch; the flag is ignored).
    /// </summary>
    public static ITunDevice Create(string name, bool offload)
    {
        if (OperatingSystem.IsWindows())
        {
            return WintunDevice.Create(name);
        }
        if (OperatingSystem.IsLinux())
        {
            return LinuxTunDevice.Create(name, offload);
        }
        throw new PlatformNotSupportedException($"jvpn has no TUN device for {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }
}
