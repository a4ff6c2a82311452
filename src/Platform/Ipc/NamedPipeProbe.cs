using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Ipc;

/// <summary>
/// Whether a Windows named pipe exists, without connecting to it (a connection would use up the server's
/// waiting instance) and without listing the pipe namespace: WaitNamedPipeW with a 1 ms timeout answers
/// TRUE when an instance is free, ERROR_SEM_TIMEOUT when all are busy (the pipe exists) and
/// ERROR_FILE_NOT_FOUND when there is no such pipe.
/// </summary>
public static class NamedPipeProbe
{
    [SupportedOSPlatform("windows")]
    public static bool Exists(string pipePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(pipePath);
        if (Kernel32.WaitNamedPipe(pipePath, 1))
        {
            return true;
        }
        return Marshal.GetLastPInvokeError() == Kernel32.ErrorSemTimeout;
    }
}
