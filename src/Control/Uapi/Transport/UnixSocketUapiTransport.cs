using System.Net.Sockets;

namespace JumpingVpn.Control.Uapi.Transport;

/// <summary>
/// UAPI over <c>DIRECTORY/NAME.sock</c> (Linux and other Unixes; wireguard-go ipc/uapi_unix.go). The
/// socket is owner-only (0600) and the directory is created 0755, as wireguard-go does.
/// </summary>
public sealed class UnixSocketUapiTransport(string socketDirectory) : IUapiTransport
{
    private const int ListenBacklog = 16;

    public string SocketDirectory { get; } = socketDirectory;

    public string Address(string interfaceName) => UapiPaths.SocketPath(interfaceName, SocketDirectory);

    public IUapiListener Listen(string interfaceName)
    {
        string path = Address(interfaceName);
        if (!Hosting.HostComposition.Current.PosixFileModes)
        {
            Directory.CreateDirectory(SocketDirectory);
        }
        else if (!Directory.Exists(SocketDirectory))
        {
            Directory.CreateDirectory(SocketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            var endpoint = new UnixDomainSocketEndPoint(path);
            try
            {
                listener.Bind(endpoint);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                // Same recovery as wireguard-go's UAPIOpen: a file is in the way; if a process answers
                // on it the interface is taken, otherwise it is left over from a crash.
                if (IsAnswering(path))
                {
                    throw new UapiInterfaceRunningException(
                        $"interface {interfaceName} is already running (a process answers on {path})", ex);
                }
                File.Delete(path);
                listener.Bind(endpoint);
            }
            // wireguard-go binds under umask 077. .NET cannot set the umask per thread, so tighten the
            // mode right after bind; until then the process umask applies (022 by default: connect(2)
            // needs write permission, so others still cannot connect in that window).
            if (Hosting.HostComposition.Current.PosixFileModes)
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            listener.Listen(ListenBacklog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        return new Listener(listener, path);
    }

    public Stream Connect(string interfaceName, TimeSpan timeout)
    {
        string path = Address(interfaceName);
        if (!File.Exists(path))
        {
            throw new UapiInterfaceNotRunningException($"no interface {interfaceName} is running (socket {path} not found)");
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return new NetworkStream(socket, ownsSocket: true);
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

    public bool Exists(string interfaceName) => File.Exists(Address(interfaceName));

    public IReadOnlyList<string> ListInterfaces()
    {
        if (!Directory.Exists(SocketDirectory))
        {
            return [];
        }
        var names = new List<string>();
        foreach (string file in Directory.EnumerateFiles(SocketDirectory, "*" + UapiPaths.SocketSuffix))
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

    private sealed class Listener(Socket socket, string path) : IUapiListener
    {
        public string Address => path;

        public async ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken)
        {
            Socket client = await socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            return new NetworkStream(client, ownsSocket: true);
        }

        /// <summary>Closes the socket and deletes its file (the file's disappearance ends `jvpn down`'s wait).</summary>
        public void Dispose()
        {
            socket.Dispose();
            File.Delete(path);
        }
    }
}
