using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform;

/// <summary>Signals to child processes on Linux (the BCL only kills with SIGKILL).</summary>
public static class ProcessSignals
{
    /// <summary>Sends SIGTERM, which `jvpn up` answers with an orderly teardown (routes, addresses, kill switch).</summary>
    /// <returns>False when the process no longer exists.</returns>
    public static bool Terminate(int pid)
    {
        if (LibC.Kill(pid, LibC.SIGTERM) == 0)
        {
            return true;
        }
        int errno = Marshal.GetLastPInvokeError();
        return errno == LibC.EPERM ? throw new UnauthorizedAccessException($"cannot signal process {pid}: {LibC.ErrorText(errno)}") : false;
    }
}
