using System.Net;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;

namespace JumpingVpn.Tests.Tunnel.Loops;

/// <summary>
/// The four loop threads end to end, without a kernel (docs/data-plane.md §3.6): two cores with their
/// <see cref="TunnelLoops"/> over <see cref="ChannelTun"/>s and one <see cref="ChannelNetwork"/>. A packet
/// from one TUN crosses the TUN, UDP, handshake and receive threads of both sides; a path switch keeps
/// traffic flowing; stopping ends every thread.
/// </summary>
public sealed class TunnelLoopsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APingFromOneTunArrivesAtTheOtherAndTheReplyComesBack(bool clientPaths)
    {
        using var pair = new LoopPair(clientPaths);
        pair.Start();

        byte[] request = IcmpEcho.Request("10.0.0.1", "10.0.0.2", identifier: 0x4a56, sequence: 1);
        pair.TunA.Inject(request);
        byte[]? atB = pair.TunB.TryTakeWritten(LoopPair.Patience);
        Assert.NotNull(atB);
        Assert.Equal(request, atB);

        pair.TunB.Inject(IcmpEcho.ReplyTo(atB));
        byte[]? atA = pair.TunA.TryTakeWritten(LoopPair.Patience);
        Assert.NotNull(atA);
        Assert.True(IcmpEcho.IsReplyTo(atA, request));
        Assert.True(IcmpEcho.ChecksumsValid(atA));

        // The first packet was held while A's handshake thread completed the session B's answered.
        Assert.NotNull(pair.PeerBOnA.Keypairs.Current);
        Assert.Equal(pair.TransportA.SocketAddress, pair.PeerAOnB.Endpoint);
        Assert.True(LoopPair.Eventually(() => pair.LoopsA.PacketsFromTun == 1 && pair.LoopsB.PacketsFromTun == 1));
        Assert.True(LoopPair.Eventually(() => pair.LoopsA.PacketsFromUdp >= 2 && pair.LoopsB.PacketsFromUdp >= 2)); // handshake + data
        Assert.Equal(0, pair.LoopsA.Faults.Total + pair.LoopsB.Faults.Total);
        Assert.False(pair.ExitRequested);
    }

    [Fact]
    public void ManyPacketsInOneBurstAllArriveInOrder()
    {
        using var pair = new LoopPair();
        pair.Start();
        Assert.NotNull(pair.Ping(0).AtA); // the session exists, so the burst is sealed in the TUN loop's batches

        const int Burst = 300;
        var sent = new List<byte[]>();
        for (ushort i = 1; i <= Burst; i++)
        {
            byte[] p = IcmpEcho.Request("10.0.0.1", "10.0.0.2", identifier: 7, sequence: i);
            sent.Add(p);
            pair.TunA.Inject(p);
        }
        for (int i = 0; i < Burst; i++)
        {
            byte[]? got = pair.TunB.TryTakeWritten(LoopPair.Patience);
            Assert.NotNull(got);
            Assert.Equal(sent[i], got);
        }
        Assert.True(LoopPair.Eventually(() => pair.LoopsA.PacketsFromTun == Burst + 1));
        Assert.Equal(0, pair.Network.Dropped);
    }

    [Fact]
    public void WhenTheClientsAddressMovesTheServerFollowsAndTrafficContinues()
    {
        using var pair = new LoopPair();
        pair.Start();
        Assert.NotNull(pair.Ping(1).AtA);

        // A NAT rebinding, or the client roaming: its datagrams now come from elsewhere, and its old
        // address is gone. B must send its replies to where the authenticated packets come from.
        var moved = new IPEndPoint(IPAddress.Parse("203.0.113.9"), 40001);
        pair.Network.Move(pair.TransportA, moved);

        (byte[]? atB, byte[]? atA) = pair.Ping(2);
        Assert.NotNull(atB);
        Assert.NotNull(atA);
        Assert.Equal(moved, EndpointCodec.ToIPEndPoint(pair.PeerAOnB.Endpoint!));
        Assert.Equal(0, pair.Network.Dropped);
    }

    [Fact]
    public void WhenTheClientSwitchesToAPathSocketTrafficContinuesOnIt()
    {
        using var pair = new LoopPair(clientPaths: true);
        pair.Start();
        Assert.NotNull(pair.Ping(1).AtA);

        // A second interface comes up (its own socket and address) and the first one dies; the path
        // manager moves the peer onto the new path socket (docs/design.md §4).
        ChannelTransport wwan = pair.Network.Bind("198.51.100.7", 2001);
        var path = new PathSocket(1, "wwan0", "198.51.100.7", wwan);
        pair.Paths!.Add(path);
        pair.Network.Cut(pair.TransportA.Address.Address);
        long sentOnPrimary = pair.TransportA.Sent;
        pair.PeerBOnA.Via = path;

        (byte[]? atB, byte[]? atA) = pair.Ping(2);
        Assert.NotNull(atB);
        Assert.NotNull(atA); // the reply came in on the path socket, through A's multi-transport wait
        Assert.Equal(wwan.SocketAddress, pair.PeerAOnB.Endpoint);
        Assert.Equal(sentOnPrimary, pair.TransportA.Sent);
        Assert.True(wwan.Sent > 0);
        Assert.True(LoopPair.Eventually(() => path.LastAuthenticatedRxNs != long.MinValue));
        Assert.Same(pair.TransportA.Receiver, wwan.Receiver); // one receive thread serves both sockets
        Assert.Equal(0, pair.LoopsA.Faults.Total);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisposeEndsEveryLoopThreadAndNothingIsReadAfterwards(bool clientPaths)
    {
        using var pair = new LoopPair(clientPaths);
        pair.Start();
        Assert.NotNull(pair.Ping(1).AtA);
        Thread[] threads = [.. pair.LoopsA.Threads, .. pair.LoopsB.Threads];
        Assert.Equal(
            ["jvpn-handshake", "jvpn-handshake", "jvpn-timers", "jvpn-timers", "jvpn-tun-read", "jvpn-tun-read", "jvpn-udp-recv", "jvpn-udp-recv"],
            threads.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(threads, t => Assert.True(t.IsAlive, $"{t.Name} is not running"));
        Assert.Contains(pair.TunA.Reader, threads);
        Assert.Contains(pair.TransportA.Receiver, threads);

        // Only the loops: the devices stay open, so nothing but TunnelLoops.Dispose can have ended the threads.
        pair.LoopsA.Dispose();
        pair.LoopsB.Dispose();

        Assert.All(threads, t => Assert.False(t.IsAlive, $"{t.Name} still runs after Dispose"));
        long readFromTun = pair.TunA.PacketsRead;
        pair.TunA.Inject(IcmpEcho.Request("10.0.0.1", "10.0.0.2", identifier: 1, sequence: 2));
        Assert.Equal(readFromTun, pair.TunA.PacketsRead);
        Assert.Equal(1, pair.TunA.PendingReads);
        Assert.Equal(1, pair.LoopsA.PacketsFromTun);
        long fromUdp = pair.LoopsA.PacketsFromUdp;
        ChannelTransport stranger = pair.Network.Bind("192.0.2.50", 9);
        Assert.False(stranger.Send(new byte[32], pair.TransportA.SocketAddress)); // the loops closed A's socket
        Assert.Equal(fromUdp, pair.LoopsA.PacketsFromUdp);
        Assert.False(pair.ExitRequested); // stopping is not a loop failure
    }

    [Fact]
    public void AReceiveBatchThatThrowsIsCountedAndTheReceiveLoopGoesOn()
    {
        using var pair = new LoopPair();
        pair.TransportB.FailNextReceive(new InvalidOperationException("injected UDP fault"));
        pair.Start();

        (byte[]? atB, byte[]? atA) = pair.Ping(1);
        Assert.NotNull(atB);
        Assert.NotNull(atA);
        Assert.Equal(1, pair.LoopsB.Faults.Count(PacketLoop.UdpReceive));
        Assert.Equal(1, pair.LoopsB.Faults.Total);
        Assert.Equal(0, pair.LoopsA.Faults.Total);
        Assert.False(pair.ExitRequested);
    }
}
