using System.Net.Sockets;
using System.Text;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Talks to any userspace WireGuard's UAPI socket (jvpn or wireguard-go), the way wg(8) does
/// (wireguard-tools ipc-uapi.h): one connection per request, blocking, for the CLI.
/// </summary>
public static class UapiClient
{
    private const int TimeoutMilliseconds = 10_000;

    /// <summary>A get answer for thousands of peers is a few MB; this only stops a runaway peer.</summary>
    private const int MaxResponseBytes = 64 << 20;

    /// <summary>The raw get answer: key=value lines, <c>errno=N</c>, blank line.</summary>
    public static string Get(string interfaceName, string? socketDirectory = null) =>
        Request(interfaceName, UapiProtocol.GetOperation + "\n\n", socketDirectory);

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
    public static string Request(string interfaceName, string rawRequest, string? socketDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(rawRequest);
        string path = UapiPaths.SocketPath(interfaceName, socketDirectory);
        if (!rawRequest.EndsWith("\n\n", StringComparison.Ordinal))
        {
            rawRequest += rawRequest.EndsWith('\n') ? "\n" : "\n\n";
        }

        using Socket socket = Connect(interfaceName, path);
        try
        {
            socket.Send(Encoding.UTF8.GetBytes(rawRequest));
            return ReadResponse(socket);
        }
        catch (SocketException ex)
        {
            throw new UapiException($"interface {interfaceName}: UAPI request on {path} failed: {ex.Message}", ex);
        }
    }

    /// <summary>Names of interfaces with a live UAPI socket, sorted (what <c>wg show</c> lists from userspace).</summary>
    public static IReadOnlyList<string> ListInterfaces(string? socketDirectory = null)
    {
        string directory = socketDirectory ?? UapiPaths.DefaultSocketDirectory;
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var names = new List<string>();
        foreach (string file in Directory.EnumerateFiles(directory, "*" + UapiPaths.SocketSuffix))
        {
            string name = Path.GetFileNameWithoutExtension(file);
            if (name.Length is > 0 and <= UapiPaths.MaxInterfaceNameLength && IsAnswering(file))
            {
                names.Add(name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>True when a process accepts connections on <paramref name="socketPath"/>.</summary>
    internal static bool IsAnswering(string socketPath)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false; // ECONNREFUSED for a stale socket or a non-socket file, ENOENT when gone
        }
    }

    private static Socket Connect(string interfaceName, string path)
    {
        if (!File.Exists(path))
        {
            throw new UapiInterfaceNotRunningException($"no interface {interfaceName} is running (socket {path} not found)");
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = TimeoutMilliseconds,
            SendTimeout = TimeoutMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw ex.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => new UapiInterfaceNotRunningException(
                    $"no interface {interfaceName} is running (socket {path} is stale: nothing listens on it)", ex),
                SocketError.AddressNotAvailable => new UapiInterfaceNotRunningException(
                    $"no interface {interfaceName} is running (socket {path} not found)", ex),
                SocketError.AccessDenied => new UapiException(
                    $"permission denied on {path}; UAPI sockets are root-only (run as root)", ex),
                _ => new UapiException($"cannot connect to {path}: {ex.Message}", ex),
            };
        }
    }

    /// <summary>Reads until the blank line that ends an answer ("\n\n", or "\n" as the very first byte).</summary>
    private static string ReadResponse(Socket socket)
    {
        byte[] chunk = new byte[16 * 1024];
        var received = new List<byte>(chunk.Length);
        int scanFrom = 0;
        while (true)
        {
            int n = socket.Receive(chunk);
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
