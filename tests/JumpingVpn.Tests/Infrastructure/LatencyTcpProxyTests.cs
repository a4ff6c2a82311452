using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// The slow-store relay itself, on loopback against an echo server: it forwards both ways, a request and its
/// answer each pay the one-way latency, and a blackhole holds the bytes until it ends, then delivers them in order.
/// </summary>
public sealed class LatencyTcpProxyTests
{
    [Fact]
    public void Adds_the_latency_each_way_and_a_blackhole_holds_bytes_until_it_ends()
    {
        using var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        var server = new Thread(() =>
        {
            try
            {
                using Socket s = echo.AcceptSocket();
                byte[] buffer = new byte[256];
                int n;
                while ((n = s.Receive(buffer)) > 0)
                {
                    s.Send(buffer.AsSpan(0, n));
                }
            }
            catch (SocketException)
            {
                // The test ended the connection.
            }
        })
        { IsBackground = true, Name = "echo" };
        server.Start();

        using var proxy = LatencyTcpProxy.Start(null, new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)echo.LocalEndpoint);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 5000 };
        client.Connect(proxy.LocalEndPoint);

        Assert.True(RoundTrip(client, 1) < 150, "without latency the relay answers at once");

        proxy.OneWayLatency = TimeSpan.FromMilliseconds(100);
        double slow = RoundTrip(client, 2);
        Assert.True(slow >= 195 && slow < 2000, $"a round trip with 100 ms each way took {slow:0} ms");

        proxy.OneWayLatency = TimeSpan.Zero;
        proxy.Blackhole = true;
        client.Send([3]);
        client.Send([4]);
        Assert.False(client.Poll(400_000, SelectMode.SelectRead), "an answer came back through the blackhole");
        proxy.Blackhole = false;
        Assert.Equal(3, ReadByte(client));
        Assert.Equal(4, ReadByte(client));
        Assert.True(proxy.Chunks >= 4);
        client.Shutdown(SocketShutdown.Both);
    }

    private static double RoundTrip(Socket s, byte value)
    {
        var sw = Stopwatch.StartNew();
        s.Send([value]);
        Assert.Equal(value, ReadByte(s));
        return sw.Elapsed.TotalMilliseconds;
    }

    private static int ReadByte(Socket s)
    {
        byte[] one = new byte[1];
        Assert.Equal(1, s.Receive(one));
        return one[0];
    }
}
