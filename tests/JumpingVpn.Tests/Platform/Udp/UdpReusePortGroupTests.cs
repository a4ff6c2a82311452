using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.Tests.Platform.Udp;

/// <summary>
/// The listen port's SO_REUSEPORT group for several receive threads (docs/threads.md "Receive threads"), on
/// loopback: the sockets share one port, the kernel spreads senders over them, nobody else can join or take
/// the port, and closing the group frees it.
/// </summary>
public sealed class UdpReusePortGroupTests
{
    [Fact]
    public void The_group_shares_one_port_and_the_kernel_spreads_senders_over_its_sockets()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SO_REUSEPORT balancing is Linux's");
        UdpTransport[] group = UdpTransport.BindGroup(0, 3, allowGso: false, allowGro: false);
        try
        {
            Assert.Equal(3, group.Length);
            Assert.All(group, s => Assert.Equal(group[0].LocalPort, s.LocalPort));
            Assert.All(group, s => Assert.True(s.ReusePort));
            // 64 senders (64 source ports): the 4-tuple hash puts them on more than one socket.
            var senders = new List<Socket>();
            var target = new IPEndPoint(IPAddress.Loopback, group[0].LocalPort);
            for (int i = 0; i < 64; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                s.SendTo(new byte[] { (byte)i }, target);
                senders.Add(s);
            }
            int total = 0;
            int socketsWithTraffic = 0;
            foreach (UdpTransport socket in group)
            {
                int n = Drain(socket);
                total += n;
                socketsWithTraffic += n > 0 ? 1 : 0;
            }
            senders.ForEach(s => s.Dispose());
            Assert.Equal(64, total);
            Assert.True(socketsWithTraffic >= 2, $"all 64 senders landed on {socketsWithTraffic} socket(s)");
        }
        finally
        {
            Array.ForEach(group, s => s.Dispose());
        }
    }

    [Fact]
    public void A_port_in_use_fails_as_already_in_use_and_a_second_group_cannot_join()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SO_REUSEPORT balancing is Linux's");
        UdpTransport[] group = UdpTransport.BindGroup(0, 2, allowGso: false, allowGro: false);
        int port = group[0].LocalPort;
        try
        {
            // Another jvpn with the same ListenPort and ReceiveThreads = 2 must not silently share the port.
            PlatformException e = Assert.Throws<PlatformException>(() => UdpTransport.BindGroup(port, 2, allowGso: false, allowGro: false));
            Assert.Equal(PlatformErrorKind.AlreadyInUse, e.Kind);
            Assert.Contains($"UDP port {port} is already in use", e.Message, StringComparison.Ordinal);
            Assert.Throws<PlatformException>(() => UdpTransport.Bind(port));
        }
        finally
        {
            Array.ForEach(group, s => s.Dispose());
        }
        // Closed: the port is free for anyone again.
        using UdpTransport again = UdpTransport.Bind(port);
        Assert.Equal(port, again.LocalPort);
    }

    [Fact]
    public void A_group_of_one_is_a_plain_socket()
    {
        UdpTransport[] one = UdpTransport.BindGroup(0, 1, allowGso: false, allowGro: false);
        using UdpTransport socket = Assert.Single(one);
        Assert.False(socket.ReusePort);
    }

    /// <summary>Receives what is queued (one batch after a short wait; loopback delivers synchronously).</summary>
    private static int Drain(UdpTransport socket)
    {
        var batch = new PacketBatch(slots: 64, slotCapacity: 2048, headroom: 0);
        var sources = new SocketAddress[64];
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = socket.CreateAddressBuffer();
        }
        int[] segments = new int[64];
        bool[] readable = new bool[1];
        int total = 0;
        while (socket.WaitReadable([socket], readable, 100) > 0)
        {
            int n = socket.ReceiveBatch(batch, sources, segments);
            if (n <= 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}
