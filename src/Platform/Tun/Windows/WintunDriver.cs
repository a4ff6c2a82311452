using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Tun.Windows;

/// <summary>The Wintun driver as a whole (installed by the first WintunCreateAdapter on a machine).</summary>
public static class WintunDriver
{
    /// <summary>
    /// WintunDeleteDriver: removes the driver when no Wintun adapter is in use (docs/platform.md §1.1, §6.3: the
    /// uninstall step). Fails while any adapter exists, so run it after every jvpn service has stopped.
    /// </summary>
    [SupportedOSPlatform("windows")]
    public static void Remove()
    {
        WintunLoader.EnsureRegistered();
        if (!Wintun.DeleteDriver())
        {
            int error = Marshal.GetLastPInvokeError();
            throw new PlatformException(
                $"Removing the Wintun driver failed: {new Win32Exception(error).Message} (is a Wintun adapter still in use?)", error);
        }
    }
}
