using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Inner UDP (IPv4, and IPv6 for the coalescing cases) through two jvpn peers (docs/performance.md "Inner UDP"): a plain sender (one datagram
/// per send, as iperf3 -u) and a UDP_SEGMENT sender (1200-byte segments in 60 KB sends, as QUIC stacks
/// do) deliver every datagram exactly once, in order and intact, with the receive side's UDP
/// coalescing into the TUN on and off. The receiving socket asks for UDP_GRO, so a coalesced TUN
/// write reaches it whole: on, some receives hold several datagrams; off, every receive holds one.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class InnerUdpTests
{
    private const int SolUdp = 17, UdpSegment = 103, UdpGro = 104;
    private const int Datagrams = 3000, Size = 1200, PerSend = 50, Window = 400, Port = 7100;

    [Theory]
    [InlineData(false, true, false)]
    [InlineData(false, false, false)]
    [InlineData(true, true, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    public void Every_inner_udp_datagram_arrives_once_in_order_and_intact(bool gsoSender, bool coalesce, bool ipv6)
    {
        Requirements.Ensure("jvpn", "wg");
        using TwoHostTopology topology = TwoHostTopology.Create();
        Dictionary<string, string>? environment = coalesce ? null : new() { ["JVPN_DISABLE_TUN_UDP_GRO"] = "1" };
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, environment);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);

        var progress = new Progress();
        using var ready = new ManualResetEventSlim();
        var receiver = NamespaceThread.Start(topology.Server, "inner-udp-receiver", () => Receive(progress, ready, ipv6));
        Assert.True(ready.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the receiver did not bind");
        var sender = NamespaceThread.Start(topology.Client, "inner-udp-sender", () => Send(gsoSender, progress, ipv6));

        int sent = sender.Result(TimeSpan.FromSeconds(60));
        (int received, int maxPerReceive, int receives) = receiver.Result(TimeSpan.FromSeconds(60));

        TunnelScenarios.Log($"inner UDP over IPv{(ipv6 ? 6 : 4)}, {(gsoSender ? "UDP_SEGMENT" : "plain")} sender, coalescing {(coalesce ? "on" : "off")}: " +
            $"{received} of {sent} datagrams in {receives} receives, up to {maxPerReceive} in one");
        Assert.Equal(Datagrams, received);
        if (coalesce)
        {
            Assert.True(maxPerReceive > 1, "coalescing is on, yet no TUN write carried more than one datagram");
        }
        else
        {
            Assert.Equal(1, maxPerReceive);
        }
    }

    /// <summary>
    /// The inner UDP paths (the TUN read drain, UDP coalescing into the TUN, and the UDP_SEGMENT
    /// super-packets split on the way out) allocate nothing per packet, like the TCP paths
    /// (JvpnTunnelTests): after a warm-up, up to three windows of both senders run and one of them must
    /// add 0 bytes on both sides (an unrelated allocation can land in any one window).
    /// </summary>
    [Fact]
    public void Inner_udp_paths_allocate_nothing_per_packet_in_steady_state()
    {
        Requirements.Ensure("jvpn", "wg");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        JvpnPeer[] sides = [(JvpnPeer)tunnel.Client, (JvpnPeer)tunnel.Server];
        Transfer(topology, gsoSender: false);
        Transfer(topology, gsoSender: true);

        var windows = new List<string>();
        for (int window = 0; window < 3; window++)
        {
            (long Packets, long Allocated)[] before = [.. sides.Select(JvpnTunnelTests.ReadLoopStats)];
            Transfer(topology, gsoSender: false);
            Transfer(topology, gsoSender: true);
            bool quiet = true;
            for (int i = 0; i < sides.Length; i++)
            {
                (long packets, long allocated) = JvpnTunnelTests.ReadLoopStats(sides[i]);
                string line = $"window {window + 1}, {sides[i].InterfaceName}: {packets - before[i].Packets} more packets, allocated {before[i].Allocated} B before, then {allocated} B";
                TunnelScenarios.Log(line);
                windows.Add(line);
                quiet &= allocated == before[i].Allocated;
            }
            if (quiet)
            {
                return;
            }
        }
        Assert.Fail("every inner UDP window allocated on a packet thread:\n" + string.Join("\n", windows));
    }

    private static void Transfer(TwoHostTopology topology, bool gsoSender)
    {
        var progress = new Progress();
        using var ready = new ManualResetEventSlim();
        var receiver = NamespaceThread.Start(topology.Server, "inner-udp-receiver", () => Receive(progress, ready));
        Assert.True(ready.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the receiver did not bind");
        var sender = NamespaceThread.Start(topology.Client, "inner-udp-sender", () => Send(gsoSender, progress));
        sender.Result(TimeSpan.FromSeconds(60));
        Assert.Equal(Datagrams, receiver.Result(TimeSpan.FromSeconds(60)).Received);
    }

    private sealed class Progress
    {
        public int Received;
    }

    private static byte[] Expected(int seq)
    {
        byte[] d = new byte[Size];
        for (int j = 0; j < d.Length; j++)
        {
            d[j] = (byte)((seq * 131) + (j * 7));
        }
        BinaryPrimitives.WriteInt32BigEndian(d, seq);
        return d;
    }

    /// <summary>Receives until all datagrams came or 5 s pass without one; checks order and content.</summary>
    private static (int Received, int MaxPerReceive, int Receives) Receive(Progress progress, ManualResetEventSlim ready, bool ipv6 = false)
    {
        using var socket = new Socket(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 8 << 20;
        socket.SetRawSocketOption(SolUdp, UdpGro, BitConverter.GetBytes(1));
        socket.Bind(new IPEndPoint(IPAddress.Parse(ipv6 ? TwoHostTopology.ServerTunnelV6 : TwoHostTopology.ServerTunnelV4), Port));
        socket.ReceiveTimeout = 5000;
        ready.Set();
        byte[] buffer = new byte[65536];
        int next = 0, maxPerReceive = 0, receives = 0;
        while (next < Datagrams)
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                break;
            }
            receives++;
            // All datagrams have one size, so a UDP_GRO receive is whole datagrams back to back.
            Assert.True(n % Size == 0, $"a receive of {n} B is not whole {Size}-byte datagrams");
            maxPerReceive = Math.Max(maxPerReceive, n / Size);
            for (int at = 0; at < n; at += Size)
            {
                int seq = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(at));
                Assert.True(seq == next, $"expected datagram {next}, got {seq} (lost or reordered)");
                Assert.True(buffer.AsSpan(at, Size).SequenceEqual(Expected(seq)), $"datagram {seq} arrived corrupted");
                next++;
            }
            Volatile.Write(ref progress.Received, next);
        }
        return (next, maxPerReceive, receives);
    }

    /// <summary>Sends in bursts of 50 and keeps at most 400 datagrams unacknowledged by the receiver,
    /// so no queue on the way overflows: a missing datagram is a defect, not congestion.</summary>
    private static int Send(bool gso, Progress progress, bool ipv6 = false)
    {
        using var socket = new Socket(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(ipv6 ? TwoHostTopology.ClientTunnelV6 : TwoHostTopology.ClientTunnelV4), 0));
        if (gso)
        {
            socket.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(Size));
        }
        var to = new IPEndPoint(IPAddress.Parse(ipv6 ? TwoHostTopology.ServerTunnelV6 : TwoHostTopology.ServerTunnelV4), Port);
        byte[] burst = new byte[PerSend * Size];
        int seq = 0;
        while (seq < Datagrams)
        {
            DateTime deadline = DateTime.UtcNow.AddSeconds(5);
            while (seq - Volatile.Read(ref progress.Received) > Window - PerSend)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"the receiver stalled at {Volatile.Read(ref progress.Received)} of {seq} sent");
                }
                Thread.Sleep(1);
            }
            for (int k = 0; k < PerSend; k++)
            {
                Expected(seq + k).CopyTo(burst, k * Size);
            }
            if (gso)
            {
                Assert.Equal(burst.Length, socket.SendTo(burst, to));
            }
            else
            {
                for (int k = 0; k < PerSend; k++)
                {
                    Assert.Equal(Size, socket.SendTo(burst, k * Size, Size, SocketFlags.None, to));
                }
            }
            seq += PerSend;
        }
        return seq;
    }
}
