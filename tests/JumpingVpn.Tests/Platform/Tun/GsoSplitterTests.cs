using System.Buffers.Binary;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun.Offload;
using static JumpingVpn.Tests.Platform.Tun.OffloadPackets;

namespace JumpingVpn.Tests.Platform.Tun;

public class GsoSplitterTests
{
    private const byte Ack = 0x10, Psh = 0x08, Fin = 0x01, Cwr = 0x80;

    internal static VirtioNetHeader TcpGso(bool v6, int gsoSize, int hdrLen = 0) => new()
    {
        Flags = VirtioNetHeader.FlagNeedsCsum,
        GsoType = v6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4,
        HdrLen = (ushort)hdrLen,
        GsoSize = (ushort)gsoSize,
        CsumStart = (ushort)(v6 ? 40 : 20),
        CsumOffset = 16,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SplitsA64KbTcpSuperPacketIntoValidSegments(bool v6)
    {
        const int gso = 1448;
        int ipLen = v6 ? 40 : 20;
        int payloadLength = (v6 ? 65535 + 40 : 65535) - ipLen - 32; // the largest the length fields allow
        byte[] payload = Payload(payloadLength, 42);
        const uint seq = 0xFFFF0000; // wraps within the super-packet
        byte[] super = Tcp(v6, seq, 777, Ack | Psh | Fin | Cwr, payload, TimestampOptions, id: 0xFFF0);
        MakePartial(super, 6, 16);
        var batch = new PacketBatch(128, 2048, 16);

        // hdr_len deliberately wrong: it must not be trusted.
        int count = GsoSplitter.Split(TcpGso(v6, gso, hdrLen: 7), super, batch);

        int expected = (payloadLength + gso - 1) / gso;
        Assert.Equal(expected, count);
        Assert.Equal(expected, batch.Count);
        for (int i = 0; i < count; i++)
        {
            byte[] seg = batch.Packet(i).ToArray();
            Assert.Equal(0, batch.DataOffset(i));
            int chunk = Math.Min(gso, payloadLength - (i * gso));
            Assert.Equal(ipLen + 32 + chunk, seg.Length);
            if (v6)
            {
                Assert.Equal(seg.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(seg.AsSpan(4)));
            }
            else
            {
                Assert.Equal(seg.Length, BinaryPrimitives.ReadUInt16BigEndian(seg.AsSpan(2)));
                Assert.Equal((ushort)(0xFFF0 + i), BinaryPrimitives.ReadUInt16BigEndian(seg.AsSpan(4)));
                Assert.True(Ipv4HeaderValid(seg), $"IPv4 header checksum of segment {i}");
            }
            Span<byte> tcp = seg.AsSpan(ipLen);
            Assert.Equal(unchecked(seq + (uint)(i * gso)), BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]));
            Assert.Equal(777u, BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]));
            bool last = i == count - 1;
            byte expectedFlags = (byte)(Ack | (last ? Psh | Fin : 0) | (i == 0 ? Cwr : 0));
            Assert.Equal(expectedFlags, tcp[13]);
            Assert.Equal(TimestampOptions, tcp.Slice(20, 12).ToArray());
            Assert.Equal(payload.AsSpan(i * gso, chunk).ToArray(), tcp[32..].ToArray());
            Assert.True(L4ChecksumValid(seg, 6), $"TCP checksum of segment {i}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SplitsUdpL4SuperPacket(bool v6)
    {
        byte[] payload = Payload(3000, 3);
        byte[] super = OffloadPackets.Udp(v6, payload, id: 100);
        MakePartial(super, 17, 6);
        var header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsCsum,
            GsoType = VirtioNetHeader.GsoUdpL4,
            GsoSize = 1200,
            CsumStart = (ushort)(v6 ? 40 : 20),
            CsumOffset = 6,
        };
        var batch = new PacketBatch(8, 1500, 0);

        Assert.Equal(3, GsoSplitter.Split(header, super, batch));

        int ipLen = v6 ? 40 : 20;
        for (int i = 0; i < 3; i++)
        {
            byte[] seg = batch.Packet(i).ToArray();
            int chunk = i < 2 ? 1200 : 600;
            Assert.Equal(ipLen + 8 + chunk, seg.Length);
            Assert.Equal(8 + chunk, BinaryPrimitives.ReadUInt16BigEndian(seg.AsSpan(ipLen + 4)));
            if (!v6)
            {
                Assert.True(Ipv4HeaderValid(seg));
                Assert.Equal(100 + i, BinaryPrimitives.ReadUInt16BigEndian(seg.AsSpan(4)));
            }
            Assert.True(L4ChecksumValid(seg, 17), $"UDP checksum of segment {i}");
            Assert.Equal(payload.AsSpan(i * 1200, chunk).ToArray(), seg.AsSpan(ipLen + 8).ToArray());
        }
    }

    [Theory]
    [InlineData(false, 6, 16)]
    [InlineData(true, 6, 16)]
    [InlineData(false, 17, 6)]
    [InlineData(true, 17, 6)]
    public void CompletesAPartialChecksumOnANonGsoPacket(bool v6, byte protocol, int checksumOffset)
    {
        byte[] original = protocol == 6 ? Tcp(v6, 5, 6, Ack | Psh, Payload(333, 9)) : OffloadPackets.Udp(v6, Payload(333, 9));
        byte[] partial = (byte[])original.Clone();
        MakePartial(partial, protocol, checksumOffset);
        Assert.False(L4ChecksumValid(partial, protocol));
        var header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsCsum,
            GsoType = VirtioNetHeader.GsoNone,
            CsumStart = (ushort)(v6 ? 40 : 20),
            CsumOffset = (ushort)checksumOffset,
        };
        var batch = new PacketBatch(4, 2048, 16);

        Assert.Equal(1, GsoSplitter.Split(header, partial, batch));

        Assert.True(L4ChecksumValid(batch.Packet(0), protocol));
        Assert.Equal(original, batch.Packet(0).ToArray());
    }

    [Fact]
    public void PassesAPlainPacketThroughUnchanged()
    {
        byte[] packet = Tcp(v6: false, 1, 2, Ack, Payload(100, 1));
        var batch = new PacketBatch(4, 2048, 16);
        Assert.Equal(1, GsoSplitter.Split(default, packet, batch));
        Assert.Equal(packet, batch.Packet(0).ToArray());
    }

    [Fact]
    public void RejectsWhatDoesNotFitOrIsUnsupported()
    {
        byte[] super = Tcp(v6: false, 1, 2, Ack, Payload(10000, 1));
        Assert.Equal(-1, GsoSplitter.Split(TcpGso(false, 1000), super, new PacketBatch(4, 2048, 0)));  // 10 segments > 4 slots
        Assert.Equal(-1, GsoSplitter.Split(TcpGso(false, 1000), super, new PacketBatch(16, 500, 0)));  // segment > slot
        Assert.Equal(-1, GsoSplitter.Split(TcpGso(true, 1000), super, new PacketBatch(16, 2048, 0)));  // TCPV6 on an IPv4 packet
        var legacyUfo = new VirtioNetHeader { GsoType = VirtioNetHeader.GsoUdp, GsoSize = 1000 };
        Assert.Equal(-1, GsoSplitter.Split(legacyUfo, OffloadPackets.Udp(false, Payload(3000, 1)), new PacketBatch(16, 2048, 0)));
        var badCsumStart = TcpGso(false, 1000);
        badCsumStart.CsumStart = 24;
        Assert.Equal(-1, GsoSplitter.Split(badCsumStart, super, new PacketBatch(16, 2048, 0)));
    }

    [Fact]
    public void EcnBitInGsoTypeIsIgnored()
    {
        byte[] super = Tcp(v6: false, 1, 2, Ack, Payload(3000, 1));
        VirtioNetHeader header = TcpGso(false, 1000);
        header.GsoType |= VirtioNetHeader.GsoEcn;
        Assert.Equal(3, GsoSplitter.Split(header, super, new PacketBatch(16, 2048, 0)));
    }

    [Fact]
    public void VirtioHeaderRoundTripsLittleEndian()
    {
        var header = new VirtioNetHeader { Flags = 1, GsoType = 4, HdrLen = 0x0102, GsoSize = 0x0304, CsumStart = 0x0506, CsumOffset = 0x0708 };
        byte[] bytes = new byte[VirtioNetHeader.Size];
        header.Write(bytes);
        Assert.Equal(new byte[] { 1, 4, 2, 1, 4, 3, 6, 5, 8, 7 }, bytes);
        Assert.Equal(header, VirtioNetHeader.Read(bytes));
    }
}
