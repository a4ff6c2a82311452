using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Serves the WireGuard userspace API on <c>/var/run/wireguard/NAME.sock</c> so the stock wg(8) can show
/// and configure a running jvpn (wireguard.com/xplatform).
/// </summary>
/// <remarks>
/// Flow per connection (one background task each):
///   1. read the operation line (<c>get=1</c>, <c>set=1</c>, or an extension's first line);
///   2. read body lines up to the blank line that ends the request;
///   3. dispatch (UapiServer.Dispatch.cs) with device calls serialised by one lock, as wireguard-go's
///      ipcMutex does;
///   4. write the answer ending in <c>errno=N</c> and a blank line, then go to 1 (several requests per
///      connection are allowed) until the client closes.
/// Malformed input earns an errno answer, never an exception out of the server. Omitted compared with
/// wireguard-go: Windows named pipes, and exiting when the socket file is deleted (the composition root
/// can watch <see cref="SocketPath"/> if it wants that).
/// </remarks>
public sealed partial class UapiServer : IDisposable
{
    private const int ListenBacklog = 16;

    private readonly Socket _listener;
    private readonly IUapiDevice _device;
    private readonly ILogger _logger;
    private readonly Lock _deviceLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, byte> _connections = new();
    private int _disposed;

    private UapiServer(string interfaceName, string socketPath, Socket listener, IUapiDevice device, ILogger logger)
    {
        InterfaceName = interfaceName;
        SocketPath = socketPath;
        _listener = listener;
        _device = device;
        _logger = logger;
        _ = AcceptLoopAsync();
    }

    public string InterfaceName { get; }

    public string SocketPath { get; }

    /// <summary>
    /// Handles operations other than get=1/set=1 (e.g. a future <c>jvpn-down=1</c>). Called with the first
    /// line and the body lines (up to the blank line); returns the complete answer, normally built with
    /// <see cref="UapiProtocol.FormatResponse"/>, or null for "unknown operation" (the client then gets
    /// errno=-EINVAL). Runs on a connection task, not under the device lock.
    /// </summary>
    public Func<string, IReadOnlyList<string>, string?>? Extension { get; set; }

    /// <summary>
    /// Creates the socket directory (0755) if needed, binds <c>NAME.sock</c> (0600) and starts accepting.
    /// A leftover socket file is removed only if nothing answers on it; if a live process answers, throws
    /// <see cref="InvalidOperationException"/> "interface NAME is already running".
    /// </summary>
    public static UapiServer Start(string interfaceName, IUapiDevice device, ILogger? logger = null, string? socketDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (OperatingSystem.IsWindows())
        {
            // wireguard-go uses \\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME there.
            throw new PlatformNotSupportedException("the UAPI named pipe for Windows is not implemented yet");
        }
        string directory = socketDirectory ?? UapiPaths.DefaultSocketDirectory;
        string path = UapiPaths.SocketPath(interfaceName, directory);
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
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
                if (UapiClient.IsAnswering(path))
                {
                    throw new InvalidOperationException(
                        $"interface {interfaceName} is already running (a process answers on {path})", ex);
                }
                File.Delete(path);
                listener.Bind(endpoint);
            }
            // wireguard-go binds under umask 077. .NET cannot set the umask per thread, so tighten the
            // mode right after bind; until then the process umask applies (022 by default: connect(2)
            // needs write permission, so others still cannot connect in that window).
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(ListenBacklog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var server = new UapiServer(interfaceName, path, listener, device, logger ?? NullLogger.Instance);
        UapiLog.Listening(server._logger, interfaceName, path);
        return server;
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex)
            {
                // E.g. EMFILE: log, back off briefly so a persistent error cannot spin the CPU.
                UapiLog.AcceptFailed(_logger, InterfaceName, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            _connections.TryAdd(client, 0);
            _ = Task.Run(() => ServeConnectionAsync(client, stopping), CancellationToken.None);
        }
    }

    private async Task ServeConnectionAsync(Socket client, CancellationToken stopping)
    {
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: true);
            var reader = new UapiLineReader(stream);
            while (true)
            {
                string? operation;
                List<string> body;
                bool endOfStream;
                try
                {
                    operation = await reader.ReadLineAsync(stopping).ConfigureAwait(false);
                    if (operation is null)
                    {
                        return;
                    }
                    if (operation.Length == 0)
                    {
                        continue; // a stray blank line between requests carries nothing
                    }
                    (body, endOfStream) = await reader.ReadUntilBlankLineAsync(stopping).ConfigureAwait(false);
                }
                catch (InvalidDataException ex)
                {
                    // Framing is lost after an over-long line: answer once and hang up.
                    UapiLog.RequestFailed(_logger, InterfaceName, UapiErrno.Protocol, ex.Message);
                    await WriteAsync(stream, UapiProtocol.FormatResponse(string.Empty, UapiErrno.Protocol), stopping).ConfigureAwait(false);
                    return;
                }

                string response = Dispatch(operation, body);
                await WriteAsync(stream, response, stopping).ConfigureAwait(false);
                if (endOfStream)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or we are stopping; nothing to answer.
        }
        finally
        {
            _connections.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private static ValueTask WriteAsync(NetworkStream stream, string response, CancellationToken cancellationToken) =>
        stream.WriteAsync(Encoding.UTF8.GetBytes(response), cancellationToken);

    /// <summary>Stops accepting, closes open connections and deletes the socket file.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        _listener.Dispose();
        foreach (Socket connection in _connections.Keys)
        {
            connection.Dispose();
        }
        try
        {
            File.Delete(SocketPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            UapiLog.CleanupFailed(_logger, SocketPath, ex);
        }
        _stopping.Dispose();
        UapiLog.Stopped(_logger, InterfaceName);
    }
}
