using JumpingVpn.Platform;

namespace JumpingVpn.Cli;

/// <summary>jvpn's process exit codes (documented in README.md, "Exit codes"). Stable for scripts.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The operation failed at run time (OS error, unexpected failure).</summary>
    public const int Failure = 1;
    /// <summary>The command line is wrong (unknown command, missing argument).</summary>
    public const int Usage = 2;
    /// <summary>A config file or key is invalid.</summary>
    public const int BadConfig = 3;
    /// <summary>Root or CAP_NET_ADMIN is required.</summary>
    public const int NoPrivilege = 4;
    /// <summary>The named interface is not running (down/status), or is already running (up).</summary>
    public const int InterfaceState = 5;

    /// <summary>The exit code for an OS-level failure of the given kind.</summary>
    public static int Of(PlatformErrorKind kind) => kind switch
    {
        PlatformErrorKind.AlreadyInUse => InterfaceState,
        _ => Failure,
    };
}
