using System.Net.Sockets;
using System.Text;
using JumpingVpn.Control.Uapi.Transport;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Talks to any userspace WireGuard's UAPI socket or pipe (jvpn or wireguard-go), the way wg(8) does
/// (wireguard-tools ipc-uapi.h): one connection per request, blocking, for the CLI. The transport is
/// <see cref="UapiTransports.Default"/> unless a socket directory or an <see cref="IUapiTransport"/> is given.
/// </summary>
public static class UapiClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A get answer for thousands of peers is a few MB; this only stops a runaway peer.</summary>
    private const int MaxResponseBytes = 64 << 20;

    /// <summary>The raw get answer: key=value lines, <c>errno=N</c>, blank line.</summary>
    public static string Get(string interfaceName, string? socketDirectory = null) =>
        Request(interfaceName, UapiProtocol.GetOperation + "\n\n", socketDirectory);

    /// <summary>The raw get answer over <paramref name="transport"/>.</summary>
    public static string Get(IUapiTransport transport, string interfaceName) =>
        Request(transport, interfaceName, UapiProtocol.GetOperation + "\n\n");

    /// <summary>Reads the device through get=1. Throws <see cref="UapiException"/> when the device reports
    /// an error or the answer cannot be parsed.</summary>
    public static UapiDeviceSnapshot GetSnapshot(string interfaceName, string? socketDirectory = null)
    {
        string response = Get(interfaceName, socketDirectory);
        if (!UapiProtocol.TryParseGet(SplitLines(response), out UapiDeviceSnapshot snapshot, out int errno, out string error))
        {
            throw new UapiException($"interface {interfaceName}: {error}", errno);
        }
        return snapshot;
    }

    /// <summary>
    /// The interface's Jumping sessions by public key (hex), read with <c>jvpn_session=1</c>; empty when the
    /// device refuses the extension (another userspace WireGuard), does not answer, or the reply is malformed.
    /// </summary>
    public static Dictionary<string, Sessions.SessionStatusRecord> GetSessions(string interfaceName, string? socketDirectory = null)
    {
        string reply;
        try
        {
            reply = Request(interfaceName, Sessions.SessionStatusReply.Operation + "\n\n", socketDirectory);
        }
        catch (UapiException)
        {
            return new Dictionary<string, Sessions.SessionStatusRecord>(StringComparer.Ordinal);
        }
        _ = Sessions.SessionStatusReply.TryParse(reply, out Dictionary<string, Sessions.SessionStatusRecord> sessions);
        return sessions;
    }

    /// <summary>
    /// The interface's peer names by public key (hex), read with <c>jvpn_peer_names=1</c>; empty when the device
    /// refuses the extension (another userspace WireGuard, an older jvpn), does not answer, or the reply is malformed.
    /// </summary>
    public static Dictionary<string, string> GetPeerNames(string interfaceName, string? socketDirectory = null)
    {
        string reply;
        try
        {
            reply = Request(interfaceName, Sessions.PeerNamesReply.Operation + "\n\n", socketDirectory);
        }
        catch (UapiException)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }
        _ = Sessions.PeerNamesReply.TryParse(reply, out Dictionary<string, string> names);
        return names;
    }

    /// <summary>Sends <c>set=1</c> with <paramref name="body"/> (key=value lines) and returns the errno
    /// the device answered: 0 on success, negative on failure, <see cref="UapiErrno.Protocol"/> when the
    /// answer has no errno line.</summary>
    public static int Set(string interfaceName, string body, string? socketDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        string trimmed = body.TrimEnd('\n');
        string request = trimmed.Length == 0
            ? UapiProtocol.SetOperation + "\n\n"
            : UapiProtocol.SetOperation + "\n" + trimmed + "\n\n";
        return ReadErrno(Request(interfaceName, request, socketDirectory));
    }

    /// <summary>Sends a structured set request; returns the errno as <see cref="Set(string, string, string?)"/>.</summary>
    public static int Set(string interfaceName, UapiSetRequest request, string? socketDirectory = null) =>
        ReadErrno(Request(interfaceName, UapiProtocol.FormatSet(request), socketDirectory));

    /// <summary>
    /// Sends <paramref name="rawRequest"/> (completed with the terminating blank line if it lacks one)
    /// and returns the answer up to and including its blank line. Throws
    /// <see cref="UapiInterfaceNotRunningException"/> when no process serves the socket.
    /// </summary>
    public static string Request(string interfaceName, string rawRequest, string? socketDirectory = null) =>
        Request(UapiTransports.For(socketDirectory), interfaceName, rawRequest);

    /// <summary>As <see cref="Request(string, string, string?)"/>, over <paramref name="transport"/>.</summary>
    public static string Request(IUapiTransport transport, string interfaceName, string rawRequest)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(rawRequest);
        if (!rawRequest.EndsWith("\n\n", StringComparison.Ordinal))
        {
            rawRequest += rawRequest.EndsWith('\n') ? "\n" : "\n\n";
        }

        using Stream stream = transport.Connect(interfaceName, Timeout);
        // Pipe streams have no read timeout; closing the stream ends a blocked read on every transport.
        using var watchdog = new Timer(static s => ((Stream)s!).Dispose(), stream, Timeout, System.Threading.Timeout.InfiniteTimeSpan);
        try
        {
            stream.Write(Encoding.UTF8.GetBytes(rawRequest));
            stream.Flush();
            return ReadResponse(stream);
        }
        catch (ObjectDisposedException ex)
        {
            throw new UapiException($"interface {interfaceName}: no answer on {transport.Address(interfaceName)} within {Timeout.TotalSeconds:0} s", ex);
        }
        catch (IOException ex) when (ex is not UapiException)
        {
            throw new UapiException($"interface {interfaceName}: UAPI request on {transport.Address(interfaceName)} failed: {ex.Message}", ex);
        }
        catch (SocketException ex)
        {
            throw new UapiException($"interface {interfaceName}: UAPI request on {transport.Address(interfaceName)} failed: {ex.Message}", ex);
        }
    }

    /// <summary>Names of interfaces with a live UAPI socket, sorted (what <c>wg show</c> lists from userspace).</summary>
    public static IReadOnlyList<string> ListInterfaces(string? socketDirectory = null) =>
        UapiTransports.For(socketDirectory).ListInterfaces();

    /// <summary>Reads until the blank line that ends an answer ("\n\n", or "\n" as the very first byte).</summary>
    private static string ReadResponse(Stream stream)
    {
        byte[] chunk = new byte[16 * 1024];
        var received = new List<byte>(chunk.Length);
        int scanFrom = 0;
        while (true)
        {
            int n = stream.Read(chunk);
            if (n == 0)
            {
                // The peer closed without the final blank line: return what came; the errno check
                // downstream reports the truncation.
                return Encoding.UTF8.GetString([.. received]);
            }
            received.AddRange(chunk.AsSpan(0, n));
            if (received.Count > MaxResponseBytes)
            {
                throw new UapiException($"UAPI answer larger than {MaxResponseBytes} bytes");
            }
            for (int i = scanFrom; i < received.Count; i++)
            {
                if (received[i] == (byte)'\n' && (i == 0 || received[i - 1] == (byte)'\n'))
                {
                    return Encoding.UTF8.GetString([.. received.GetRange(0, i + 1)]);
                }
            }
            scanFrom = received.Count;
        }
    }

    private static int ReadErrno(string response) =>
        UapiProtocol.TryReadErrno(SplitLines(response), out int errno) ? errno : UapiErrno.Protocol;

    internal static string[] SplitLines(string response) => response.Split('\n');
}
