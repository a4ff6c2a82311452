using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using JumpingVpn.Control.Uapi.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Serves the WireGuard userspace API on <c>/var/run/wireguard/NAME.sock</c> (Windows:
/// <c>\\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME</c>) so the stock wg(8) can show and
/// configure a running jvpn (wireguard.com/xplatform).
/// </summary>
/// <remarks>
/// Flow per connection (one background task each):
///   1. read the operation line (<c>get=1</c>, <c>set=1</c>, or an extension's first line);
///   2. read body lines up to the blank line that ends the request;
///   3. dispatch (UapiServer.Dispatch.cs) with device calls serialised by one lock, as wireguard-go's
///      ipcMutex does;
///   4. write the answer ending in <c>errno=N</c> and a blank line, then go to 1 (several requests per
///      connection are allowed) until the client closes.
/// Malformed input earns an errno answer, never an exception out of the server. The byte stream comes from
/// an <see cref="IUapiTransport"/>: a Unix socket, or a named pipe on Windows (docs/design.md §7). Omitted compared
/// with wireguard-go: exiting when the socket file is deleted (the composition root can watch
/// <see cref="SocketPath"/> if it wants that).
/// </remarks>
public sealed partial class UapiServer : IDisposable
{
    private readonly IUapiListener _listener;
    private readonly IUapiDevice _device;
    private readonly ILogger _logger;
    private readonly Lock _deviceLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Stream, byte> _connections = new();
    private int _disposed;

    private UapiServer(string interfaceName, IUapiListener listener, IUapiDevice device, ILogger logger)
    {
        InterfaceName = interfaceName;
        _listener = listener;
        _device = device;
        _logger = logger;
        _ = AcceptLoopAsync();
    }

    public string InterfaceName { get; }

    /// <summary>Where clients connect: the socket path, or the pipe path on Windows.</summary>
    public string SocketPath => _listener.Address;

    /// <summary>
    /// Handles operations other than get=1/set=1 (e.g. a future <c>jvpn-down=1</c>). Called with the first
    /// line and the body lines (up to the blank line); returns the complete answer, normally built with
    /// <see cref="UapiProtocol.FormatResponse"/>, or null for "unknown operation" (the client then gets
    /// errno=-EINVAL). Runs on a connection task, not under the device lock.
    /// </summary>
    public Func<string, IReadOnlyList<string>, string?>? Extension { get; set; }

    /// <summary>
    /// Listens on the OS's transport (<see cref="UapiTransports.Default"/>), or on Unix sockets in
    /// <paramref name="socketDirectory"/> when given: <c>NAME.sock</c> (0600, directory 0755 created if
    /// needed). A leftover socket file is removed only if nothing answers on it; if a live process
    /// answers, throws <see cref="UapiInterfaceRunningException"/> "interface NAME is already running".
    /// </summary>
    public static UapiServer Start(string interfaceName, IUapiDevice device, ILogger? logger = null, string? socketDirectory = null) =>
        Start(interfaceName, device, UapiTransports.For(socketDirectory), logger);

    /// <summary>Listens on <paramref name="transport"/> (see <see cref="IUapiTransport.Listen"/>) and starts accepting.</summary>
    public static UapiServer Start(string interfaceName, IUapiDevice device, IUapiTransport transport, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(transport);
        IUapiListener listener = transport.Listen(interfaceName);
        var server = new UapiServer(interfaceName, listener, device, logger ?? NullLogger.Instance);
        UapiLog.Listening(server._logger, interfaceName, listener.Address);
        return server;
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stopping = _stopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Stream client;
            try
            {
                client = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (Exception ex) when (ex is SocketException or IOException)
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

    private async Task ServeConnectionAsync(Stream stream, CancellationToken stopping)
    {
        try
        {
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

                if (endOfStream)
                {
                    // A request ends with a blank line; without it the client may have been cut off
                    // mid-request (a set would apply half a change). Apply nothing, answer, hang up.
                    UapiLog.RequestFailed(_logger, InterfaceName, UapiErrno.Protocol,
                        $"request {UapiProtocol.ForLog(operation)} ended before its blank line ({body.Count} line(s)); nothing applied");
                    await WriteAsync(stream, UapiProtocol.FormatResponse(string.Empty, UapiErrno.Protocol), stopping).ConfigureAwait(false);
                    return;
                }
                string response = Dispatch(operation, body);
                await WriteAsync(stream, response, stopping).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or we are stopping; nothing to answer.
        }
        finally
        {
            _connections.TryRemove(stream, out _);
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async ValueTask WriteAsync(Stream stream, string response, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(response), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops accepting, closes open connections and removes the endpoint (socket file / pipe).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        foreach (Stream connection in _connections.Keys)
        {
            connection.Dispose();
        }
        try
        {
            _listener.Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            UapiLog.CleanupFailed(_logger, SocketPath, ex);
        }
        _stopping.Dispose();
        UapiLog.Stopped(_logger, InterfaceName);
    }
}
