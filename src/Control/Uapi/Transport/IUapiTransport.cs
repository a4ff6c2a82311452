namespace JumpingVpn.Control.Uapi.Transport;

/// <summary>
/// How UAPI requests travel between the jvpn commands (and wg(8)) and a running interface (docs/design.md §7:
/// "a local Unix socket (Windows: named pipe)"). The protocol on top (UapiServer / UapiClient) is the same
/// byte stream on every transport; <see cref="UapiTransports"/> picks the one for the running OS.
/// </summary>
public interface IUapiTransport
{
    /// <summary>Where the endpoint of <paramref name="interfaceName"/> lives, for messages and logs.</summary>
    string Address(string interfaceName);

    /// <summary>
    /// Starts listening for <paramref name="interfaceName"/>. Throws <see cref="InvalidOperationException"/>
    /// ("interface NAME is already running") when another process serves it; removes what a crashed one left.
    /// </summary>
    IUapiListener Listen(string interfaceName);

    /// <summary>
    /// Opens one connection. Throws <see cref="UapiInterfaceNotRunningException"/> when nothing serves the
    /// interface and <see cref="UapiException"/> for other failures (permission, timeout).
    /// </summary>
    Stream Connect(string interfaceName, TimeSpan timeout);

    /// <summary>True while the endpoint exists (it disappears as the last step of a teardown).</summary>
    bool Exists(string interfaceName);

    /// <summary>Interfaces with a live endpoint, sorted ordinally.</summary>
    IReadOnlyList<string> ListInterfaces();
}

/// <summary>A listening UAPI endpoint. Dispose stops accepting and removes the endpoint.</summary>
public interface IUapiListener : IDisposable
{
    string Address { get; }

    /// <summary>Waits for the next client; the returned stream is owned by the caller.</summary>
    ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken);
}
