namespace JumpingVpn.Control.Uapi.Transport;

/// <summary>
/// The UAPI transports: a named pipe on Windows (what wg.exe and wireguard-go use there), a Unix socket in
/// /var/run/wireguard everywhere else (what wg(8) scans). Which one runs is the composition root's choice
/// (Hosting.HostComposition, docs/platform.md §8).
/// </summary>
public static class UapiTransports
{
    /// <summary>The transport for the running OS.</summary>
    public static IUapiTransport Default => Hosting.HostComposition.Current.Uapi;

    /// <summary>The transport for one OS, so both answers can be tested on one machine.</summary>
    internal static IUapiTransport ForOs(bool windows) => windows
        ? NamedPipeUapiTransport.WireGuardWindows()
        : new UnixSocketUapiTransport(UapiPaths.DefaultSocketDirectory);

    /// <summary>
    /// <see cref="Default"/>, or Unix sockets in <paramref name="socketDirectory"/> when one is given
    /// (tests and callers that keep their sockets elsewhere; Windows 10 1803+ has AF_UNIX too).
    /// </summary>
    public static IUapiTransport For(string? socketDirectory) =>
        socketDirectory is null ? Default : new UnixSocketUapiTransport(socketDirectory);
}
