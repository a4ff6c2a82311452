using System.Net;
using System.Net.Sockets;
using System.Text;
using JumpingVpn.Control.Metrics;

namespace JumpingVpn.Tests.Control.Metrics;

public sealed class MetricsEndpointTests
{
    private static MetricsEndpoint StartEndpoint(out MetricsRegistry registry)
    {
        registry = new MetricsRegistry();
        registry.AddCounter("jvpn_test_total", "Test.").WithLabels().Add(7);
        return MetricsEndpoint.Start(new IPEndPoint(IPAddress.Loopback, 0), registry);
    }

    private static async Task<string> SendAsync(IPEndPoint endPoint, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint, TestContext.Current.CancellationToken);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), TestContext.Current.CancellationToken);
        client.Client.Shutdown(SocketShutdown.Send);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Get_metrics_returns_200_and_the_exposition()
    {
        using MetricsEndpoint endpoint = StartEndpoint(out _);
        string response = await SendAsync(endpoint.LocalEndPoint, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/plain; version=0.0.4", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n# HELP jvpn_test_total Test.\n# TYPE jvpn_test_total counter\njvpn_test_total 7\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_paths_are_404_and_garbage_is_400_without_killing_the_server()
    {
        using MetricsEndpoint endpoint = StartEndpoint(out _);
        Assert.StartsWith("HTTP/1.1 404 ", await SendAsync(endpoint.LocalEndPoint, "GET / HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 405 ", await SendAsync(endpoint.LocalEndPoint, "POST /metrics HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await SendAsync(endpoint.LocalEndPoint, "\x01\x02 garbage\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await SendAsync(endpoint.LocalEndPoint, new string('A', 20_000)), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 400 ", await SendAsync(endpoint.LocalEndPoint, "GET /metrics"), StringComparison.Ordinal); // peer closes early
        Assert.StartsWith("HTTP/1.1 200 ", await SendAsync(endpoint.LocalEndPoint, "GET /metrics?x=1 HTTP/1.0\r\n\r\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void Non_loopback_addresses_are_refused_unless_allowed()
    {
        var registry = new MetricsRegistry();
        Assert.Throws<InvalidOperationException>(() => MetricsEndpoint.Start(new IPEndPoint(IPAddress.Any, 0), registry));
        Assert.Throws<FormatException>(() => MetricsEndpoint.Start("not-an-address", registry));
    }
}
