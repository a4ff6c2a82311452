namespace JumpingVpn.Platform;

/// <summary>
/// An operating-system operation failed in a way the user can act on. The message names what failed,
/// why (the OS's words) and what to do; the CLI prints it as one line, without a stack trace.
/// </summary>
public sealed class PlatformException : Exception
{
    public PlatformException()
    {
    }

    public PlatformException(string message) : base(message)
    {
    }

    public PlatformException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public PlatformException(string message, int errno) : base(message) => Errno = errno;

    public PlatformException(string message, PlatformErrorKind kind, int errno = 0) : base(message)
    {
        Kind = kind;
        Errno = errno;
    }

    public PlatformException(string message, PlatformErrorKind kind, Exception innerException) : base(message, innerException) => Kind = kind;

    public int Errno { get; }

    /// <summary>What the failure means for the caller (exit code, retry); <see cref="PlatformErrorKind.Failure"/> unless the throw site says otherwise.</summary>
    public PlatformErrorKind Kind { get; }
}
