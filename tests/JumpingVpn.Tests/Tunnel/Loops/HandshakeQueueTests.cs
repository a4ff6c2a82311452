using System.Net;
using JumpingVpn.Tunnel.Loops;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Tunnel.Loops;

/// <summary>The handshake ring: FIFO, bounded, copies in and out, allocation-free on the receive side.</summary>
public sealed class HandshakeQueueTests
{
    [Fact]
    public void DeliversInOrderWithSourcesAndRefusesWhenFull()
    {
        using var q = new HandshakeQueue();
        SocketAddress v4 = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1000).Serialize();
        SocketAddress v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 2000).Serialize();
        byte[] message = new byte[148];
        for (int i = 0; i < HandshakeQueue.Capacity; i++)
        {
            message[0] = (byte)i;
            message[1] = (byte)(i >> 8);
            Assert.True(q.TryEnqueue(message.AsSpan(0, i % 2 == 0 ? 148 : 92), i % 2 == 0 ? v4 : v6));
        }
        Assert.True(q.UnderLoad);
        Assert.False(q.TryEnqueue(message, v4));
        Assert.Equal(1, q.Dropped);

        byte[] into = new byte[148];
        var from = new SocketAddress(System.Net.Sockets.AddressFamily.InterNetworkV6);
        for (int i = 0; i < HandshakeQueue.Capacity; i++)
        {
            Assert.True(q.TryTake(into, from, out int length, CancellationToken.None));
            Assert.Equal(i % 2 == 0 ? 148 : 92, length);
            Assert.Equal(i, into[0] | (into[1] << 8));
            Assert.Equal(i % 2 == 0 ? "192.0.2.1:1000" : "[2001:db8::1]:2000",
                new IPEndPoint(IPAddress.Any, 0).Create(from).ToString());
        }
        Assert.Equal(0, q.Count);
        Assert.False(q.UnderLoad);
    }

    [Fact]
    public void EnqueueAllocatesNothing()
    {
        using var q = new HandshakeQueue();
        SocketAddress from = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1000).Serialize();
        byte[] message = new byte[148];
        // The first window fills the queue, the later ones drop: neither path may allocate.
        SteadyState.AllocatesNothing(() => q.TryEnqueue(message, from), rounds: 5000, warmup: 1);
    }

    [Fact]
    public void TakeReturnsFalseWhenCancelled()
    {
        using var q = new HandshakeQueue();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.False(q.TryTake(new byte[148], new SocketAddress(System.Net.Sockets.AddressFamily.InterNetworkV6), out _, cts.Token));
    }
}
