namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Values for the <c>errno=</c> line. The xplatform page says "the corresponding integer from errno.h";
/// wireguard-go (ipc/uapi_unix.go) sends them negated, and wg(8) relies on that: after a set it does
/// <c>fscanf("errno=%d")</c> and then <c>errno = -ret</c>, so only a negative number prints a proper
/// "Unable to modify interface: Invalid argument". The numbers are Linux's errno.h.
/// </summary>
public static class UapiErrno
{
    public const int None = 0;

    /// <summary>-EIO: reading the request or writing the answer failed.</summary>
    public const int IO = -5;

    /// <summary>-EINVAL: a key or value the protocol does not allow.</summary>
    public const int Invalid = -22;

    /// <summary>-EPROTO: a line that is not <c>key=value</c>, or an answer that cannot be parsed.</summary>
    public const int Protocol = -71;

    /// <summary>-EADDRINUSE: the listen port (or fwmark rebind) could not be applied.</summary>
    public const int PortInUse = -98;

    /// <summary>-ENOANO (55): wireguard-go's code for "other error", used for unexpected failures.</summary>
    public const int Unknown = -55;
}
