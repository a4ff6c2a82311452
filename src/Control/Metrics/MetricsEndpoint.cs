using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Control.Metrics;

/// <summary>
/// A minimal HTTP/1.1 server for Prometheus scrapes: <c>GET /metrics</c> (and HEAD) answers the
/// <see cref="PrometheusTextFormatter"/> exposition; any other path is 404, other methods 405, anything
/// unparsable 400. One connection = one request (<c>Connection: close</c>), which is all a scraper needs.
/// </summary>
/// <remarks>
/// Bounded by construction: request head at most <see cref="MaxRequestBytes"/>, a read deadline, and at
/// most <see cref="MaxConcurrentConnections"/> connections (extra ones are closed at once). Metrics are
/// unauthenticated, so only loopback addresses are accepted unless the caller explicitly allows others.
/// </remarks>
public sealed class MetricsEndpoint : IDisposable
{
    public const int DefaultPort = 9586;
    public const int MaxRequestBytes = 8 * 1024;
    public const int MaxConcurrentConnections = 8;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpListener _listener;
    private readonly MetricsRegistry _registry;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _active;
    private long _requests;
    private int _disposed;

    private MetricsEndpoint(TcpListener listener, MetricsRegistry registry, ILogger logger)
    {
        _listener = listener;
        _registry = registry;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)listener.LocalEndpoint;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Requests answered (any status).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>
    /// Binds <paramref name="endPoint"/> and starts the accept loop. A non-loopback address is refused
    /// (logged as an error, then <see cref="InvalidOperationException"/>) unless
    /// <paramref name="allowNonLoopback"/> is set.
    /// </summary>
    public static MetricsEndpoint Start(IPEndPoint endPoint, MetricsRegistry registry, ILogger? logger = null, bool allowNonLoopback = false)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(registry);
        logger ??= NullLogger.Instance;
        if (!allowNonLoopback && !IPAddress.IsLoopback(endPoint.Address))
        {
            MetricsLog.NonLoopbackRefused(logger, endPoint.ToString());
            throw new InvalidOperationException($"refusing to serve metrics on non-loopback address {endPoint}: use a loopback address or allow non-loopback explicitly");
        }
        var listener = new TcpListener(endPoint);
        listener.Start(backlog: 16);
        var server = new MetricsEndpoint(listener, registry, logger);
        MetricsLog.Listening(logger, server.LocalEndPoint.ToString());
        return server;
    }

    /// <summary>Parses "127.0.0.1:9586", "[::1]:9586" or a bare address (default port) and starts.</summary>
    public static MetricsEndpoint Start(string address, MetricsRegistry registry, ILogger? logger = null, bool allowNonLoopback = false)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!IPEndPoint.TryParse(address, out IPEndPoint? endPoint))
        {
            throw new FormatException($"invalid metrics address '{address}' (expected IP:PORT, e.g. 127.0.0.1:{DefaultPort})");
        }
        if (endPoint.Port == 0 && !address.EndsWith(":0", StringComparison.Ordinal))
        {
            endPoint.Port = DefaultPort;
        }
        return Start(endPoint, registry, logger, allowNonLoopback);
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(token).ConfigureAwait(false);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                MetricsLog.AcceptFailed(_logger, e);
                if (e is ObjectDisposedException)
                {
                    return;
                }
                continue;
            }
            if (Interlocked.Increment(ref _active) > MaxConcurrentConnections)
            {
                Interlocked.Decrement(ref _active);
                socket.Dispose();
                continue;
            }
            _ = ServeAsync(socket, token);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        try
        {
            using (socket)
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                timeout.CancelAfter(ReadTimeout);
                string? head = await ReadHeadAsync(socket, timeout.Token).ConfigureAwait(false);
                byte[] response = Respond(head);
                await socket.SendAsync(response, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _requests);
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (Exception e)
        {
            MetricsLog.RequestFailed(_logger, e);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>Reads up to the blank line ending the request head; null if it is too long or the peer stops early.</summary>
    private static async Task<string?> ReadHeadAsync(Socket socket, CancellationToken token)
    {
        byte[] buffer = new byte[MaxRequestBytes];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, token).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            length += n;
            int end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                end = buffer.AsSpan(0, length).IndexOf("\n\n"u8); // tolerate bare LF (RFC 9112 section 2.2)
            }
            if (end >= 0)
            {
                return Encoding.ASCII.GetString(buffer, 0, end);
            }
        }
        return null;
    }

    /// <summary>Builds the whole response for a request head (null = malformed or oversized).</summary>
    internal byte[] Respond(string? head)
    {
        if (head is null)
        {
            return Response(400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", includeBody: true);
        }
        int lineEnd = head.IndexOf('\n', StringComparison.Ordinal);
        string requestLine = (lineEnd < 0 ? head : head[..lineEnd]).TrimEnd('\r');
        string[] parts = requestLine.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[1].Length == 0)
        {
            return Response(400, "Bad Request", "text/plain; charset=utf-8", "bad request\n", includeBody: true);
        }
        string method = parts[0];
        string target = parts[1];
        int query = target.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? target : target[..query];
        if (!string.Equals(path, "/metrics", StringComparison.Ordinal))
        {
            return Response(404, "Not Found", "text/plain; charset=utf-8", "not found\n", includeBody: method != "HEAD");
        }
        if (method is not ("GET" or "HEAD"))
        {
            return Response(405, "Method Not Allowed", "text/plain; charset=utf-8", "method not allowed\n", includeBody: true, allow: true);
        }
        return Response(200, "OK", PrometheusTextFormatter.ContentType, PrometheusTextFormatter.Format(_registry), includeBody: method == "GET");
    }

    private static byte[] Response(int status, string reason, string contentType, string body, bool includeBody, bool allow = false)
    {
        byte[] bodyBytes = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder(128)
            .Append("HTTP/1.1 ").Append(status).Append(' ').Append(reason).Append("\r\n")
            .Append("Content-Type: ").Append(contentType).Append("\r\n")
            .Append("Content-Length: ").Append(bodyBytes.Length).Append("\r\n");
        if (allow)
        {
            head.Append("Allow: GET, HEAD\r\n");
        }
        head.Append("Connection: close\r\n\r\n");
        byte[] headBytes = Encoding.ASCII.GetBytes(head.ToString());
        if (!includeBody)
        {
            return headBytes;
        }
        byte[] response = new byte[headBytes.Length + bodyBytes.Length];
        headBytes.CopyTo(response, 0);
        bodyBytes.CopyTo(response, headBytes.Length);
        return response;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        _listener.Stop();
        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            // The loop's end is all we wait for; its failure was logged.
        }
        _stopping.Dispose();
    }
}
