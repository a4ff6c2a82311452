using System.Buffers.Binary;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun.Offload;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;

namespace JumpingVpn.Tests.Platform.Tun;

/// <summary>
/// UDP coalescing into the TUN (docs/performance.md "Inner UDP"): datagrams of one flow become one
/// GSO_UDP_L4 write that the kernel cuts back into exactly the datagrams that went in. Checksums are
/// judged by the naive implementation in <see cref="OffloadPackets"/>, never by the production code.
/// </summary>
public class GroCoalescerUdpTests
{
    private static List<(VirtioNetHeader Header, byte[] Packet)> FlushAll(GroCoalescer gro)
    {
        var written = new List<(VirtioNetHeader, byte[])>();
        Assert.True(gro.Flush(framed =>
        {
            written.Add((VirtioNetHeader.Read(framed), framed[VirtioNetHeader.Size..].ToArray()));
            return true;
        }));
        return written;
    }

    private static byte[] Datagram(int length, int seed, ushort id = 0x4321, ushort srcPort = 443, bool v6 = false, byte ttl = 64, bool dontFragment = true)
    {
        byte[] p = OffloadPackets.Udp(v6, Payload(length, seed), id: id, srcPort: srcPort, ttl: ttl, dontFragment: dontFragment);
        return p;
    }

    /// <summary>What the kernel does with a GSO_UDP_L4 write, played by the splitter (itself checked
    /// against real bytes in GsoSplitterTests): the datagrams that come out.</summary>
    private static List<byte[]> Resegment(VirtioNetHeader header, byte[] packet)
    {
        var batch = new PacketBatch(128, 2048, 0);
        int count = GsoSplitter.Split(header, packet, batch);
        Assert.True(count > 0, "the merged packet does not split");
        return [.. Enumerable.Range(0, count).Select(i => batch.Packet(i).ToArray())];
    }

    /// <summary>For comparing what went in with what the kernel cuts out: an IPv4 datagram with DF
    /// gets the IDs the kernel numbers its segments with (RFC 6864: the ID of an atomic datagram
    /// carries nothing), so its ID and header checksum are blanked once the checksum verified.</summary>
    private static List<byte[]> Comparable(IEnumerable<byte[]> datagrams) => [.. datagrams.Select(d =>
    {
        byte[] copy = (byte[])d.Clone();
        if ((copy[0] >> 4) == 4 && (copy[6] & 0x40) != 0)
        {
            Assert.True(Ipv4HeaderValid(copy), "IPv4 header checksum");
            copy[4] = copy[5] = copy[10] = copy[11] = 0;
        }
        return copy;
    })];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DatagramsOfOneFlowBecomeOneUdpL4WriteThatSplitsBackExactly(bool v6)
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        var sent = new List<byte[]>();
        for (int i = 0; i < 20; i++)
        {
            byte[] d = Datagram(i == 19 ? 700 : 1300, seed: i, id: (ushort)(100 + i), v6: v6);
            sent.Add(d);
            Assert.True(gro.Add(d));
        }
        Assert.Equal(1, gro.OutputCount);

        var (header, packet) = Assert.Single(FlushAll(gro));

        int ipLen = v6 ? 40 : 20;
        Assert.Equal(VirtioNetHeader.FlagNeedsCsum, header.Flags);
        Assert.Equal(VirtioNetHeader.GsoUdpL4, header.GsoType);
        Assert.Equal(1300, header.GsoSize);
        Assert.Equal(ipLen, header.CsumStart);
        Assert.Equal(6, header.CsumOffset);
        Assert.Equal(ipLen + 8, header.HdrLen);
        Assert.Equal(ipLen + 8 + (19 * 1300) + 700, packet.Length);
        Assert.Equal(packet.Length - ipLen, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(ipLen + 4)));
        if (!v6)
        {
            Assert.Equal(packet.Length, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
            Assert.True(Ipv4HeaderValid(packet));
            Assert.Equal(100, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4)));
        }
        // CHECKSUM_PARTIAL: the folded pseudo-header sum over the whole L4 length, not complemented.
        Assert.Equal(NaiveFold(NaiveSum(PseudoHeader(packet, 17, packet.Length - ipLen))), BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(ipLen + 6)));

        List<byte[]> delivered = Resegment(header, packet);
        Assert.Equal(sent.Count, delivered.Count);
        for (int i = 0; i < sent.Count; i++)
        {
            Assert.True(L4ChecksumValid(delivered[i], 17), $"UDP checksum of datagram {i}");
            Assert.Equal(sent[i], delivered[i]);
        }
    }

    [Fact]
    public void WithoutUdpCoalescingEveryDatagramGoesOutAloneAndUnchanged()
    {
        var gro = new GroCoalescer(coalesceUdp: false);
        byte[][] sent = [Datagram(1300, 1), Datagram(1300, 2), Datagram(1300, 3)];
        foreach (byte[] d in sent)
        {
            Assert.True(gro.Add(d));
        }

        var written = FlushAll(gro);

        Assert.Equal(3, written.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(VirtioNetHeader.GsoNone, written[i].Header.GsoType);
            Assert.Equal(0, written[i].Header.Flags);
            Assert.Equal(sent[i], written[i].Packet);
        }
    }

    [Fact]
    public void AShortDatagramEndsThePacketAndALargerOneStartsANewOne()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[][] sent = [Datagram(1200, 1), Datagram(1200, 2), Datagram(800, 3), Datagram(1200, 4), Datagram(1000, 5), Datagram(1100, 6)];
        foreach (byte[] d in sent)
        {
            Assert.True(gro.Add(d));
        }

        var written = FlushAll(gro);

        // [1200 1200 800] [1200 1000] [1100]: a datagram after a short one, or larger than the
        // first, cannot ride in the same super-packet.
        Assert.Equal(3, written.Count);
        Assert.Equal(VirtioNetHeader.GsoUdpL4, written[0].Header.GsoType);
        Assert.Equal(VirtioNetHeader.GsoUdpL4, written[1].Header.GsoType);
        Assert.Equal(VirtioNetHeader.GsoNone, written[2].Header.GsoType);
        var delivered = Resegment(written[0].Header, written[0].Packet)
            .Concat(Resegment(written[1].Header, written[1].Packet))
            .Append(written[2].Packet).ToList();
        Assert.Equal(Comparable(sent), Comparable(delivered));
    }

    [Fact]
    public void InterleavedFlowsAreMergedSeparatelyEachInItsOwnOrder()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        var a = new List<byte[]>();
        var b = new List<byte[]>();
        for (int i = 0; i < 6; i++)
        {
            byte[] da = Datagram(1000, 10 + i, srcPort: 1111);
            byte[] db = Datagram(1000, 20 + i, srcPort: 2222);
            a.Add(da);
            b.Add(db);
            Assert.True(gro.Add(da));
            Assert.True(gro.Add(db));
        }

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        Assert.Equal(Comparable(a), Comparable(Resegment(written[0].Header, written[0].Packet)));
        Assert.Equal(Comparable(b), Comparable(Resegment(written[1].Header, written[1].Packet)));
    }

    [Fact]
    public void UdpAndTcpOfTheSamePortsAreDifferentFlows()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[] udp1 = Datagram(1000, 1, srcPort: 40000);
        byte[] tcp = Tcp(false, 1, 2, 0x10, Payload(1000, 2), srcPort: 40000, dstPort: 50000);
        byte[] udp2 = Datagram(1000, 3, srcPort: 40000);
        // The test helper's UDP goes to port 50000: with the TCP segment on the same ports and
        // addresses, only the protocol tells the flows apart.
        Assert.True(gro.Add(udp1));
        Assert.True(gro.Add(tcp));
        Assert.True(gro.Add(udp2));

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        Assert.Equal(Comparable([udp1, udp2]), Comparable(Resegment(written[0].Header, written[0].Packet)));
        Assert.Equal(tcp, written[1].Packet);
    }

    [Fact]
    public void ACorruptDatagramIsNeitherMergedNorRepaired()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[] first = Datagram(1000, 1);
        byte[] corrupt = Datagram(1000, 2);
        corrupt[^1] ^= 0x55;
        byte[] third = Datagram(1000, 3);
        Assert.True(gro.Add(first));
        Assert.True(gro.Add(corrupt));
        Assert.True(gro.Add(third));

        var written = FlushAll(gro);

        Assert.Equal(3, written.Count);
        Assert.All(written, w => Assert.Equal(VirtioNetHeader.GsoNone, w.Header.GsoType));
        Assert.Equal(corrupt, written[1].Packet);
        Assert.False(L4ChecksumValid(written[1].Packet, 17));
    }

    [Fact]
    public void ACorruptFirstDatagramIsNotMergedEither()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[] corrupt = Datagram(1000, 1);
        corrupt[40] ^= 0x01;
        Assert.True(gro.Add(corrupt));
        Assert.True(gro.Add(Datagram(1000, 2)));

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        Assert.Equal(corrupt, written[0].Packet);
    }

    [Fact]
    public void Ipv4DatagramsWithoutAChecksumGoAlone()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[] a = Datagram(1000, 1);
        byte[] b = Datagram(1000, 2);
        a[26] = a[27] = 0;
        b[26] = b[27] = 0;
        Assert.True(gro.Add(a));
        Assert.True(gro.Add(b));

        var written = FlushAll(gro);

        Assert.Equal([a, b], written.Select(w => w.Packet).ToList());
    }

    [Fact]
    public void WithoutDontFragmentTheIdsMustCountUp()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[][] consecutive = [Datagram(1000, 1, id: 7, dontFragment: false), Datagram(1000, 2, id: 8, dontFragment: false), Datagram(1000, 3, id: 9, dontFragment: false)];
        byte[] jump = Datagram(1000, 4, id: 500, dontFragment: false);
        foreach (byte[] d in consecutive)
        {
            Assert.True(gro.Add(d));
        }
        Assert.True(gro.Add(jump));

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        Assert.Equal(consecutive, Resegment(written[0].Header, written[0].Packet));
        Assert.Equal(jump, written[1].Packet);
    }

    [Fact]
    public void WithDontFragmentAnyIdsMerge()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        Assert.True(gro.Add(Datagram(1000, 1, id: 7)));
        Assert.True(gro.Add(Datagram(1000, 2, id: 3000)));

        Assert.Single(FlushAll(gro));
    }

    [Fact]
    public void DifferentTtlOrTrafficClassIsNotMerged()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        Assert.True(gro.Add(Datagram(1000, 1, ttl: 64)));
        Assert.True(gro.Add(Datagram(1000, 2, ttl: 63)));
        Assert.True(gro.Add(Datagram(1000, 3, v6: true, ttl: 64)));
        Assert.True(gro.Add(Datagram(1000, 4, v6: true, ttl: 63)));

        Assert.Equal(4, FlushAll(gro).Count);
    }

    [Fact]
    public void At64DatagramsASuperPacketIsFull()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        var sent = new List<byte[]>();
        for (int i = 0; i < 70; i++)
        {
            byte[] d = Datagram(200, i);
            sent.Add(d);
            Assert.True(gro.Add(d));
        }

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        List<byte[]> first = Resegment(written[0].Header, written[0].Packet);
        Assert.Equal(GroCoalescer.MaxUdpSegments, first.Count);
        Assert.Equal(Comparable(sent), Comparable(first.Concat(Resegment(written[1].Header, written[1].Packet))));
    }

    [Fact]
    public void ASuperPacketStaysWithin65535Bytes()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        var sent = new List<byte[]>();
        for (int i = 0; i < 60; i++)
        {
            byte[] d = Datagram(1400, i);
            sent.Add(d);
            Assert.True(gro.Add(d));
        }

        var written = FlushAll(gro);

        Assert.All(written, w => Assert.True(w.Packet.Length <= 65535));
        Assert.Equal(2, written.Count);
        Assert.Equal(Comparable(sent), Comparable(written.SelectMany(w => Resegment(w.Header, w.Packet))));
    }

    [Fact]
    public void AUdpLengthThatDisagreesWithTheIpLengthGoesAlone()
    {
        var gro = new GroCoalescer(coalesceUdp: true);
        byte[] odd = Datagram(1000, 1);
        BinaryPrimitives.WriteUInt16BigEndian(odd.AsSpan(24), 900);
        Assert.True(gro.Add(odd));
        Assert.True(gro.Add(Datagram(1000, 2)));
        Assert.True(gro.Add(Datagram(1000, 3)));

        var written = FlushAll(gro);

        Assert.Equal(2, written.Count);
        Assert.Equal(odd, written[0].Packet);
        Assert.Equal(VirtioNetHeader.GsoUdpL4, written[1].Header.GsoType);
    }
}
