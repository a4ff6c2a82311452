using System.Buffers.Binary;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun.Offload;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Platform.Tun;

public class GroCoalescerTcpTests
{
    private const byte Ack = 0x10, Psh = 0x08, Syn = 0x02;

    private static List<(VirtioNetHeader Header, byte[] Packet)> FlushAll(GroCoalescer gro)
    {
        var written = new List<(VirtioNetHeader, byte[])>();
        Assert.True(gro.Flush(framed =>
        {
            written.Add((VirtioNetHeader.Read(framed), framed[VirtioNetHeader.Size..].ToArray()));
            return true;
        }));
        Assert.Equal(0, gro.PacketCount);
        return written;
    }

    private static byte[] Seg(uint seq, int length, byte flags = Ack, uint ack = 1000, ushort srcPort = 40000, bool v6 = false, int seed = 0) =>
        Tcp(v6, seq, ack, flags, Payload(length, (int)seq + seed), TimestampOptions, srcPort: srcPort);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SplitThenCoalesceRoundTripsASuperPacket(bool v6)
    {
        int ipLen = v6 ? 40 : 20;
        int payloadLength = 65535 - ipLen - 32; // the coalescer caps the whole IP packet at 65535 bytes
        byte[] payload = Payload(payloadLength, 11);
        byte[] super = Tcp(v6, 123456, 42, Ack | Psh, payload, TimestampOptions, window: 999);
        var split = new PacketBatch(128, 2048, 16);
        int count = GsoSplitter.Split(GsoSplitterTests.TcpGso(v6, 1400), super, split);
        var gro = new GroCoalescer();
        for (int i = 0; i < count; i++)
        {
            Assert.True(gro.Add(split.Packet(i)));
        }

        var written = FlushAll(gro);

        var (header, packet) = Assert.Single(written);
        Assert.Equal(VirtioNetHeader.FlagNeedsCsum, header.Flags);
        Assert.Equal(v6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4, header.GsoType);
        Assert.Equal(1400, header.GsoSize);
        Assert.Equal(ipLen, header.CsumStart);
        Assert.Equal(16, header.CsumOffset);
        Assert.Equal(ipLen + 32, header.HdrLen);
        Assert.Equal(super.Length, packet.Length);
        if (!v6)
        {
            Assert.True(Ipv4HeaderValid(packet));
        }
        Assert.Equal(123456u, BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(ipLen + 4)));
        Assert.Equal(Ack | Psh, packet[ipLen + 13]);
        Assert.Equal(payload, packet.AsSpan(ipLen + 32).ToArray());
        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not complemented.
        ushort expectedPartial = NaiveFold(NaiveSum(PseudoHeader(packet, 6, packet.Length - ipLen)));
        Assert.Equal(expectedPartial, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(ipLen + 16)));
        // Completing it as the kernel does yields the original super-packet exactly.
        Assert.True(GsoSplitter.CompleteChecksum(packet, header.CsumStart, header.CsumOffset));
        Assert.True(L4ChecksumValid(packet, 6));
        Assert.Equal(super, packet);

        // And the kernel-side view (split again by our own splitter) gives back the same segments.
        var again = new PacketBatch(128, 2048, 16);
        Assert.Equal(count, GsoSplitter.Split(header, packet, again));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(split.Packet(i).ToArray(), again.Packet(i).ToArray());
        }
    }

    [Fact]
    public void PshOnlyOnTheLastSegmentOfAMergedPacket()
    {
        var gro = new GroCoalescer();
        gro.Add(Seg(0, 100));
        gro.Add(Seg(100, 100, Ack | Psh));
        gro.Add(Seg(200, 100));
        var written = FlushAll(gro);
        Assert.Equal(2, written.Count);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, written[0].Header.GsoType);
        Assert.Equal(20 + 32 + 200, written[0].Packet.Length);
        Assert.Equal(Ack | Psh, written[0].Packet[33]);
        Assert.Equal(VirtioNetHeader.GsoNone, written[1].Header.GsoType);
        Assert.Equal(200u, BinaryPrimitives.ReadUInt32BigEndian(written[1].Packet.AsSpan(24)));
    }

    [Fact]
    public void UntouchedPacketsGetAZeroHeaderAndStayByteIdentical()
    {
        byte[] syn = Seg(0, 0, Syn);
        var gro = new GroCoalescer();
        gro.Add(syn);
        var (header, packet) = Assert.Single(FlushAll(gro));
        Assert.Equal(default, header);
        Assert.Equal(syn, packet);
    }

    public static TheoryData<string> NonMergeableCases => ["gap", "ack", "syn", "longer", "ttl", "options", "badsum", "ipv4options", "fragment"];

    [Theory]
    [MemberData(nameof(NonMergeableCases))]
    public void NonMergeablePairsPassThroughInOrder(string kind)
    {
        byte[] first = Seg(0, 100);
        byte[] second = kind switch
        {
            "gap" => Seg(101, 100),
            "ack" => Seg(100, 100, ack: 2000),
            "syn" => Seg(100, 100, Syn | Ack),
            "longer" => Seg(100, 101),
            "ttl" => Reframe(Tcp(false, 100, 1000, Ack, Payload(100, 1), TimestampOptions, ttl: 63)),
            "options" => Tcp(false, 100, 1000, Ack, Payload(100, 1), [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 2]),
            "badsum" => Corrupt(Seg(100, 100)),
            "ipv4options" => Ipv4WithOptions(),
            "fragment" => MoreFragments(Seg(100, 100)),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var gro = new GroCoalescer();
        Assert.True(gro.Add(first));
        Assert.True(gro.Add(second));

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        Assert.All(written, w => Assert.Equal(default, w.Header));
        Assert.Equal(first, written[0].Packet);
        Assert.Equal(second, written[1].Packet);
    }

    [Fact]
    public void InterleavedFlowsMergeSeparatelyAndOtherTrafficPassesThrough()
    {
        byte[] udp = OffloadPackets.Udp(false, Payload(50, 1));
        var gro = new GroCoalescer();
        gro.Add(Seg(0, 100, srcPort: 1));
        gro.Add(Seg(5000, 100, srcPort: 2));
        gro.Add(udp);
        gro.Add(Seg(100, 100, srcPort: 1));
        gro.Add(Seg(5100, 100, srcPort: 2));
        gro.Add(Seg(0, 100, v6: true));
        gro.Add(Seg(100, 100, v6: true));

        var written = FlushAll(gro);

        Assert.Equal(4, written.Count);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(written[0].Packet.AsSpan(20)));
        Assert.Equal(20 + 32 + 200, written[0].Packet.Length);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(written[1].Packet.AsSpan(20)));
        Assert.Equal(20 + 32 + 200, written[1].Packet.Length);
        Assert.Equal(udp, written[2].Packet);
        Assert.Equal(VirtioNetHeader.GsoTcpV6, written[3].Header.GsoType);
        Assert.Equal(40 + 32 + 200, written[3].Packet.Length);
    }

    [Fact]
    public void AFlowNeverOvertakesItself()
    {
        // A pure ACK between two data segments: the second segment must not jump into the first
        // packet ahead of the ACK.
        var gro = new GroCoalescer();
        gro.Add(Seg(0, 100));
        gro.Add(Seg(100, 0));
        gro.Add(Seg(100, 100));
        var written = FlushAll(gro);
        Assert.Equal(3, written.Count);
        Assert.Equal([0u, 100u, 100u], written.Select(w => BinaryPrimitives.ReadUInt32BigEndian(w.Packet.AsSpan(24))).ToArray());
        Assert.Equal([100, 0, 100], written.Select(w => w.Packet.Length - 52).ToArray());
    }

    [Fact]
    public void ShortSegmentEndsAMergedPacket()
    {
        var gro = new GroCoalescer();
        gro.Add(Seg(0, 1000));
        gro.Add(Seg(1000, 500));
        gro.Add(Seg(1500, 1000));
        var written = FlushAll(gro);
        Assert.Equal(2, written.Count);
        Assert.Equal(1000, written[0].Header.GsoSize);
        Assert.Equal(52 + 1500, written[0].Packet.Length);
        Assert.Equal(52 + 1000, written[1].Packet.Length);
    }

    [Fact]
    public void MergedPacketsStayWithin64Kb()
    {
        var gro = new GroCoalescer();
        for (int i = 0; i < 60; i++)
        {
            Assert.True(gro.Add(Seg((uint)(i * 1400), 1400)));
        }
        var written = FlushAll(gro);
        Assert.Equal(2, written.Count);
        Assert.All(written, w => Assert.True(w.Packet.Length <= 65535));
        Assert.Equal(52 + (46 * 1400), written[0].Packet.Length); // 46 * 1400 + 52 <= 65535 < 47 * 1400 + 52
        Assert.Equal(52 + (14 * 1400), written[1].Packet.Length);
        Assert.Equal(46u * 1400, BinaryPrimitives.ReadUInt32BigEndian(written[1].Packet.AsSpan(24)));
    }

    [Fact]
    public void ReportsFullAndRefusesEmptyOrOversizedPackets()
    {
        var gro = new GroCoalescer(maxPackets: 2);
        Assert.False(gro.Add([]));
        Assert.False(gro.Add(new byte[65536]));
        Assert.True(gro.Add(Seg(0, 10)));
        Assert.True(gro.Add(Seg(10, 10)));
        Assert.False(gro.Add(Seg(20, 10)));
        Assert.Single(FlushAll(gro));
        Assert.True(gro.Add(Seg(20, 10)));
    }

    [Fact]
    public void SteadyStateSplitAndCoalesceAllocateNothing()
    {
        byte[] super = Tcp(false, 1, 2, Ack, Payload(60000, 5), TimestampOptions);
        VirtioNetHeader header = GsoSplitterTests.TcpGso(false, 1400);
        var batch = new PacketBatch(128, 2048, 16);
        var gro = new GroCoalescer();
        long bytes = 0;
        Func<ReadOnlySpan<byte>, bool> write = framed =>
        {
            bytes += framed.Length;
            return true;
        };
        void Round()
        {
            int n = GsoSplitter.Split(header, super, batch);
            for (int i = 0; i < n; i++)
            {
                gro.Add(batch.Packet(i));
            }
            gro.Flush(write);
        }
        SteadyState.AllocatesNothing(Round, rounds: 100, warmup: 1);
        Assert.Equal(301L * (VirtioNetHeader.Size + super.Length), bytes);
    }

    private static byte[] Reframe(byte[] packet) => packet;

    private static byte[] Corrupt(byte[] packet)
    {
        packet[^1] ^= 0x55;
        return packet;
    }

    private static byte[] MoreFragments(byte[] packet)
    {
        packet[6] |= 0x20; // MF
        packet[10] = packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), (ushort)~NaiveFold(NaiveSum(packet.AsSpan(0, 20))));
        return packet;
    }

    private static byte[] Ipv4WithOptions()
    {
        byte[] plain = Seg(100, 100);
        byte[] packet = new byte[plain.Length + 4];
        plain.AsSpan(0, 20).CopyTo(packet);
        packet[0] = 0x46;
        packet[20] = packet[21] = packet[22] = packet[23] = 1; // NOP options
        plain.AsSpan(20).CopyTo(packet.AsSpan(24));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[10] = packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), (ushort)~NaiveFold(NaiveSum(packet.AsSpan(0, 24))));
        return packet;
    }
}
