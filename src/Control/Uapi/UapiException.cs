namespace JumpingVpn.Control.Uapi;

/// <summary>A UAPI request failed: the device answered with an error, or the answer made no sense.</summary>
public class UapiException : IOException
{
    public UapiException()
    {
    }

    public UapiException(string message)
        : base(message)
    {
    }

    public UapiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public UapiException(string message, int errno)
        : base(message) => Errno = errno;

    /// <summary>The errno the device reported (negative, see <see cref="UapiErrno"/>), or 0 when unknown.</summary>
    public int Errno { get; }
}

/// <summary>No process is serving the interface's UAPI socket (missing, or a stale file nobody listens on).</summary>
public sealed class UapiInterfaceNotRunningException : UapiException
{
    public UapiInterfaceNotRunningException()
    {
    }

    public UapiInterfaceNotRunningException(string message)
        : base(message)
    {
    }

    public UapiInterfaceNotRunningException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Another live process already serves the interface's UAPI socket or pipe, so this one cannot listen.</summary>
public sealed class UapiInterfaceRunningException : InvalidOperationException
{
    public UapiInterfaceRunningException()
    {
    }

    public UapiInterfaceRunningException(string message)
        : base(message)
    {
    }

    public UapiInterfaceRunningException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
