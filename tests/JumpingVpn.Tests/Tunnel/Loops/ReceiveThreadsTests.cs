using JumpingVpn.Tunnel.Loops;

namespace JumpingVpn.Tests.Tunnel.Loops;

/// <summary>
/// A second receive thread (docs/threads.md "Receive threads"): B's loops read two transports, and A sends to
/// the second one, so every datagram B gets (the initiation, then data) is handled on the second lane: admission
/// and the handshake queue, decapsulation, the TUN write. B answers from its primary socket.
/// </summary>
public sealed class ReceiveThreadsTests
{
    [Fact]
    public void Traffic_to_the_second_receive_socket_is_opened_on_its_own_thread_and_answered()
    {
        using var pair = new LoopPair(secondReceiverOnB: true);
        // A keeps sending to B's second socket although B answers from its first (otherwise A would follow B's
        // handshake response to the first socket, and the second would see only the initiation).
        pair.PeerBOnA.AllowRoaming = false;
        pair.Start();
        Assert.Equal(2, pair.LoopsB.ReceiveThreads);
        for (ushort seq = 1; seq <= 20; seq++)
        {
            (byte[]? atB, byte[]? atA) = pair.Ping(seq);
            Assert.NotNull(atB);
            Assert.NotNull(atA);
        }
        // The initiation and all 20 requests reached B on its second lane; nothing came in on the first.
        Assert.True(LoopPair.Eventually(() => pair.LoopsB.PacketsFromUdpOnThread(1) >= 21), $"lane 1 got {pair.LoopsB.PacketsFromUdpOnThread(1)}");
        Assert.Equal(0, pair.LoopsB.PacketsFromUdpOnThread(0));
        Assert.Equal(pair.LoopsB.PacketsFromUdp, pair.LoopsB.PacketsFromUdpOnThread(0) + pair.LoopsB.PacketsFromUdpOnThread(1));
        Assert.Equal(0, pair.LoopsA.Faults.Total + pair.LoopsB.Faults.Total);
        Assert.False(pair.ExitRequested);
    }

    [Fact]
    public void Stop_ends_every_receive_thread_and_closes_the_extra_socket()
    {
        using var pair = new LoopPair(secondReceiverOnB: true);
        pair.Start();
        Assert.NotNull(pair.Ping(1).AtA);
        Thread[] threads = [.. pair.LoopsB.Threads];
        Assert.Equal(
            ["jvpn-handshake", "jvpn-timers", "jvpn-tun-read", "jvpn-udp-recv", "jvpn-udp-recv-1"],
            threads.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Contains(pair.TransportB2!.Receiver, threads);

        pair.LoopsB.Dispose();

        Assert.All(threads, t => Assert.False(t.IsAlive, $"{t.Name} still runs after Dispose"));
        Assert.True(pair.TransportB2.IsClosed);
        Assert.True(pair.TransportB.IsClosed);
    }
}
