using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Platform.Udp;

// Loopback only. Loopback does not run GRO on ordinary datagrams, so coalesced receives appear only
// when the sender used GSO and the receiver armed UDP_GRO (the kernel then delivers the GSO skb whole).
public sealed class UdpTransportBatchTests
{
    private const int RxSlots = 16;

    public static TheoryData<bool, bool> OffloadCombinations => new()
    {
        { true, true },
        { true, false },
        { false, true },
        { false, false },
    };

    [Fact]
    public void OffloadsAreDetectedAndCanBeForcedOff()
    {
        using UdpTransport on = UdpTransport.Bind(0, allowGso: true, allowGro: true);
        using UdpTransport off = UdpTransport.Bind(0, allowGso: false, allowGro: false);
        // Both arrived long before the 6.x kernels this runs on (GSO 4.18, GRO 5.0).
        Assert.True(on.GsoEnabled);
        Assert.True(on.GroEnabled);
        Assert.False(off.GsoEnabled);
        Assert.False(off.GroEnabled);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("0", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void DisableVariableParsing(string? value, bool disabled) => Assert.Equal(disabled, UdpOffloads.IsTruthy(value));

    [Theory]
    [MemberData(nameof(OffloadCombinations))]
    public void EqualRunWithShortLastSegmentArrivesByteExact(bool gso, bool gro)
    {
        // 150 datagrams: more than 64 segments and more than 128 datagrams per sendmmsg; 1200 B each so
        // the 65507-byte message limit splits too (54 per message); the last one is short.
        int[] lengths = Enumerable.Repeat(1200, 149).Append(500).ToArray();
        List<int> segmentSizes = RoundTrip(gso, gro, lengths, rxCapacity: 65535 + 64, out _);
        if (gso && gro)
        {
            Assert.Contains(segmentSizes, s => s == 1200);
        }
        else
        {
            Assert.All(segmentSizes, s => Assert.Equal(0, s));
        }
    }

    [Theory]
    [MemberData(nameof(OffloadCombinations))]
    public void MixedSizesKeepOrderAndContents(bool gso, bool gro)
    {
        int[] lengths = [100, 100, 300, 300, 300, 50, 1000, 1, 1, 1, 1400, 1400, 1500, 1400, 0, 7, 7, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 3];
        List<int> segmentSizes = RoundTrip(gso, gro, lengths, rxCapacity: 65535 + 64, out List<int> messageLengths);
        if (gso && gro)
        {
            // Only equal-size runs (plus one shorter tail) share a message: 8 x 8000 fit below 65507
            // bytes, the 9th starts a new message that the shorter trailing 3 may end.
            Assert.Contains(segmentSizes, s => s == 8000);
            Assert.Contains(messageLengths, l => l == 8 * 8000);
        }
    }

    [Fact]
    public void SmallReceiveSlotsKeepGroOffSoNothingIsTruncated()
    {
        int[] lengths = Enumerable.Repeat(1000, 40).ToArray();
        List<int> segmentSizes = RoundTrip(gso: true, gro: true, lengths, rxCapacity: 2048, out _);
        Assert.All(segmentSizes, s => Assert.Equal(0, s));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PlainIPv4DestinationOnDualModeSocket(bool gso)
    {
        using UdpTransport sender = UdpTransport.Bind(0, gso, allowGro: false);
        using UdpTransport receiver = UdpTransport.Bind(0, allowGso: false, allowGro: true);
        Assert.True(sender.DualMode);
        SocketAddress to = new IPEndPoint(IPAddress.Loopback, receiver.LocalPort).Serialize();
        Assert.Equal(AddressFamily.InterNetwork, to.Family);
        int[] lengths = Enumerable.Repeat(700, 10).ToArray();
        RoundTrip(sender, receiver, to, lengths, 65535 + 64, out _);
    }

    [Fact]
    public void IPv6LoopbackDestination()
    {
        using UdpTransport sender = UdpTransport.Bind(0, allowGso: true, allowGro: false);
        using UdpTransport receiver = UdpTransport.Bind(0, allowGso: false, allowGro: true);
        if (!sender.DualMode || !HasIPv6Loopback())
        {
            Assert.Skip("no IPv6 loopback on this host");
        }
        SocketAddress to = new IPEndPoint(IPAddress.IPv6Loopback, receiver.LocalPort).Serialize();
        RoundTrip(sender, receiver, to, Enumerable.Repeat(900, 20).Append(10).ToArray(), 65535 + 64, out _,
            expectedSource: new IPEndPoint(IPAddress.IPv6Loopback, sender.LocalPort));
    }

    [Fact]
    public void SingleDatagramCallsStillWork()
    {
        using UdpTransport a = UdpTransport.Bind(0, allowGso: true, allowGro: true);
        using UdpTransport b = UdpTransport.Bind(0, allowGso: true, allowGro: true);
        var batch = new PacketBatch(4, 65535 + 64, 16);
        SocketAddress[] sources = Sources(b, 4);
        int[] sizes = new int[4];
        SocketAddress toB = Loopback(b);

        // Arm GRO through ReceiveBatch first; Receive must then switch it off and see plain datagrams.
        Assert.True(a.Send([1, 2, 3], toB));
        Assert.Equal(1, b.ReceiveBatch(batch, sources, sizes));
        Assert.Equal([1, 2, 3], batch.Packet(0).ToArray());

        byte[] buffer = new byte[2048];
        SocketAddress from = b.CreateAddressBuffer();
        Assert.True(a.Send([9, 8, 7, 6], toB));
        Assert.Equal(4, b.Receive(buffer, from));
        Assert.Equal([9, 8, 7, 6], buffer[..4]);
        Assert.Equal(Loopback(a), from);
    }

    [Fact]
    public void CloseWakesABlockedReceiveBatch()
    {
        UdpTransport receiver = UdpTransport.Bind(0, allowGso: true, allowGro: true);
        var batch = new PacketBatch(2, 65535 + 64, 0);
        int result = 0;
        var thread = new Thread(() => result = receiver.ReceiveBatch(batch, Sources(receiver, 2), new int[2]));
        thread.Start();
        Thread.Sleep(100);
        receiver.Close();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(-1, result);
        Assert.Equal(-1, receiver.ReceiveBatch(batch, Sources(receiver, 2), new int[2]));
        Assert.False(receiver.SendSegments(batch, 0, 1, Loopback(receiver)));
    }

    [Fact]
    public void SendRangeIsValidated()
    {
        using UdpTransport t = UdpTransport.Bind(0, allowGso: true, allowGro: false);
        var batch = new PacketBatch(4, 100, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.SendSegments(batch, 2, 3, Loopback(t)));
        Assert.True(t.SendSegments(batch, 4, 0, Loopback(t)));
    }

    [Theory]
    [MemberData(nameof(OffloadCombinations))]
    public void SteadyStateAllocatesNothing(bool gso, bool gro)
    {
        using UdpTransport sender = UdpTransport.Bind(0, gso, allowGro: false);
        using UdpTransport receiver = UdpTransport.Bind(0, allowGso: false, gro);
        const int PerBatch = 32;
        var tx = new PacketBatch(PerBatch, 1500, 16);
        for (int i = 0; i < PerBatch; i++)
        {
            tx.SetPacket(i, 0, i == PerBatch - 1 ? 600 : 1400);
        }
        var rx = new PacketBatch(RxSlots, 65535 + 64, 16);
        SocketAddress[] sources = Sources(receiver, RxSlots);
        int[] sizes = new int[RxSlots];
        SocketAddress to = Loopback(receiver);

        // No Assert inside the measured loop: xunit's generic asserts allocate.
        bool ok = true;
        void Round()
        {
            ok &= sender.SendSegments(tx, 0, PerBatch, to);
            int datagrams = 0;
            while (datagrams < PerBatch)
            {
                int n = receiver.ReceiveBatch(rx, sources, sizes);
                if (n <= 0)
                {
                    ok = false;
                    return;
                }
                for (int m = 0; m < n; m++)
                {
                    datagrams += sizes[m] == 0 ? 1 : (rx.Length(m) + sizes[m] - 1) / sizes[m];
                }
            }
            ok &= datagrams == PerBatch;
        }

        // 1000 rounds per window are 32 000 datagrams.
        SteadyState.AllocatesNothing(Round, rounds: 1000, warmup: 100);
        Assert.True(ok);
    }

    // ---- helpers ----

    private static List<int> RoundTrip(bool gso, bool gro, int[] lengths, int rxCapacity, out List<int> messageLengths)
    {
        using UdpTransport sender = UdpTransport.Bind(0, gso, allowGro: false);
        using UdpTransport receiver = UdpTransport.Bind(0, allowGso: false, gro);
        Assert.Equal(gso, sender.GsoEnabled);
        Assert.Equal(gro, receiver.GroEnabled);
        return RoundTrip(sender, receiver, Loopback(receiver), lengths, rxCapacity, out messageLengths);
    }

    private static List<int> RoundTrip(UdpTransport sender, UdpTransport receiver, SocketAddress to, int[] lengths, int rxCapacity,
        out List<int> messageLengths, IPEndPoint? expectedSource = null)
    {
        const int Headroom = 16;
        var tx = new PacketBatch(lengths.Length, 8192, Headroom);
        for (int i = 0; i < lengths.Length; i++)
        {
            // Odd data offsets check the sender honours DataOffset, not just the slot start.
            int offset = i % 3;
            tx.SetPacket(i, offset, lengths[i]);
            Fill(tx.Packet(i), i);
        }
        SocketAddress expected = expectedSource is null ? Loopback(sender) : expectedSource.Serialize();
        var rx = new PacketBatch(RxSlots, rxCapacity, Headroom);
        SocketAddress[] sources = Sources(receiver, RxSlots);
        int[] sizes = new int[RxSlots];
        using var watchdog = new Timer(_ => receiver.Close(), null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);

        // GRO is armed by the first ReceiveBatch; datagrams queued before that stay segmented, so prime
        // the receiver with one datagram the way the receive thread would already be running.
        Assert.True(sender.Send([0xAA], to));
        Assert.Equal(1, receiver.ReceiveBatch(rx, sources, sizes));
        Assert.Equal([0xAA], rx.Packet(0).ToArray());

        Assert.True(sender.SendSegments(tx, 0, lengths.Length, to));
        var segmentSizes = new List<int>();
        messageLengths = [];
        var datagrams = new List<byte[]>();
        while (datagrams.Count < lengths.Length)
        {
            int n = receiver.ReceiveBatch(rx, sources, sizes);
            Assert.True(n > 0, $"receive ended after {datagrams.Count} of {lengths.Length} datagrams");
            Assert.Equal(n, rx.Count);
            for (int m = 0; m < n; m++)
            {
                Assert.Equal(expected, sources[m]);
                segmentSizes.Add(sizes[m]);
                messageLengths.Add(rx.Length(m));
                ReadOnlySpan<byte> message = rx.Packet(m);
                if (sizes[m] == 0)
                {
                    datagrams.Add(message.ToArray());
                    continue;
                }
                for (int at = 0; at < message.Length; at += sizes[m])
                {
                    datagrams.Add(message.Slice(at, Math.Min(sizes[m], message.Length - at)).ToArray());
                }
            }
        }
        Assert.Equal(lengths.Length, datagrams.Count);
        for (int i = 0; i < lengths.Length; i++)
        {
            byte[] want = new byte[lengths[i]];
            Fill(want, i);
            Assert.Equal(want, datagrams[i]);
        }
        return segmentSizes;
    }

    private static void Fill(Span<byte> data, int datagram)
    {
        for (int j = 0; j < data.Length; j++)
        {
            data[j] = (byte)((datagram * 31) + (j * 7) + (j >> 8));
        }
    }

    private static SocketAddress[] Sources(UdpTransport t, int count)
    {
        var sources = new SocketAddress[count];
        for (int i = 0; i < count; i++)
        {
            sources[i] = t.CreateAddressBuffer();
        }
        return sources;
    }

    /// <summary>127.0.0.1:port as the dual-mode socket names it (v4-mapped), or plain IPv4 on a v4-only host.</summary>
    private static SocketAddress Loopback(UdpTransport t) => t.DualMode
        ? new IPEndPoint(IPAddress.Loopback.MapToIPv6(), t.LocalPort).Serialize()
        : new IPEndPoint(IPAddress.Loopback, t.LocalPort).Serialize();

    private static bool HasIPv6Loopback()
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
