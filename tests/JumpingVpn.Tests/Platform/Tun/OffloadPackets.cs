using System.Buffers.Binary;

namespace JumpingVpn.Tests.Platform.Tun;

/// <summary>Builds IPv4/IPv6 TCP and UDP packets and checks their checksums with a deliberately
/// naive, independent RFC 1071 implementation (16-bit big-endian words, one at a time), so the
/// production checksum code is never used to judge itself.</summary>
internal static class OffloadPackets
{
    public static readonly byte[] V4Src = [10, 0, 0, 1];
    public static readonly byte[] V4Dst = [10, 0, 0, 2];
    public static readonly byte[] V6Src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    public static readonly byte[] V6Dst = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    /// <summary>Timestamp-style options (NOP, NOP, TS 10 bytes) = 12 bytes.</summary>
    public static readonly byte[] TimestampOptions = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];

    public static uint NaiveSum(ReadOnlySpan<byte> data, uint sum = 0)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            int hi = data[i];
            int lo = i + 1 < data.Length ? data[i + 1] : 0;
            sum += (uint)((hi << 8) | lo);
        }
        return sum;
    }

    public static ushort NaiveFold(uint sum)
    {
        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }

    public static byte[] PseudoHeader(ReadOnlySpan<byte> packet, byte protocol, int l4Length)
    {
        bool v4 = (packet[0] >> 4) == 4;
        var pseudo = new List<byte>();
        if (v4)
        {
            pseudo.AddRange(packet.Slice(12, 8).ToArray());
            pseudo.AddRange([0, protocol, (byte)(l4Length >> 8), (byte)l4Length]);
        }
        else
        {
            pseudo.AddRange(packet.Slice(8, 32).ToArray());
            pseudo.AddRange([(byte)(l4Length >> 24), (byte)(l4Length >> 16), (byte)(l4Length >> 8), (byte)l4Length, 0, 0, 0, protocol]);
        }
        return [.. pseudo];
    }

    public static int TransportOffset(ReadOnlySpan<byte> packet) => (packet[0] >> 4) == 4 ? (packet[0] & 0xF) * 4 : 40;

    public static bool Ipv4HeaderValid(ReadOnlySpan<byte> packet) => NaiveFold(NaiveSum(packet[..TransportOffset(packet)])) == 0xFFFF;

    public static bool L4ChecksumValid(ReadOnlySpan<byte> packet, byte protocol)
    {
        int t = TransportOffset(packet);
        ReadOnlySpan<byte> l4 = packet[t..];
        return NaiveFold(NaiveSum(l4, NaiveSum(PseudoHeader(packet, protocol, l4.Length)))) == 0xFFFF;
    }

    public static byte[] Tcp(bool v6, uint seq, uint ack, byte flags, ReadOnlySpan<byte> payload, byte[]? options = null,
        ushort srcPort = 40000, ushort dstPort = 5201, ushort id = 0x1234, ushort window = 512, byte ttl = 64,
        byte[]? src = null, byte[]? dst = null)
    {
        options ??= [];
        int ipLen = v6 ? 40 : 20;
        int tcpLen = 20 + options.Length;
        byte[] p = new byte[ipLen + tcpLen + payload.Length];
        WriteIp(p, v6, 6, id, ttl, src, dst);
        Span<byte> tcp = p.AsSpan(ipLen);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = (byte)((tcpLen / 4) << 4);
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], window);
        options.CopyTo(tcp[20..]);
        payload.CopyTo(tcp[tcpLen..]);
        FillL4Checksum(p, 6, 16);
        return p;
    }

    public static byte[] Udp(bool v6, ReadOnlySpan<byte> payload, ushort id = 0x4321, ushort srcPort = 443, byte ttl = 64, bool dontFragment = true)
    {
        int ipLen = v6 ? 40 : 20;
        byte[] p = new byte[ipLen + 8 + payload.Length];
        WriteIp(p, v6, 17, id, ttl, null, null, dontFragment);
        Span<byte> udp = p.AsSpan(ipLen);
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 50000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        FillL4Checksum(p, 17, 6);
        return p;
    }

    /// <summary>Replaces the L4 checksum by the folded pseudo-header sum, as the kernel leaves it for
    /// CHECKSUM_PARTIAL (and for GSO super-packets).</summary>
    public static void MakePartial(byte[] packet, byte protocol, int checksumOffset)
    {
        int t = TransportOffset(packet);
        ushort partial = NaiveFold(NaiveSum(PseudoHeader(packet, protocol, packet.Length - t)));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(t + checksumOffset), partial);
    }

    public static byte[] Payload(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void WriteIp(byte[] p, bool v6, byte protocol, ushort id, byte ttl, byte[]? src, byte[]? dst, bool dontFragment = true)
    {
        if (v6)
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
            p[6] = protocol;
            p[7] = ttl;
            (src ?? V6Src).CopyTo(p, 8);
            (dst ?? V6Dst).CopyTo(p, 24);
            return;
        }
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
        p[6] = dontFragment ? (byte)0x40 : (byte)0; // DF
        p[8] = ttl;
        p[9] = protocol;
        (src ?? V4Src).CopyTo(p, 12);
        (dst ?? V4Dst).CopyTo(p, 16);
        ushort sum = (ushort)~NaiveFold(NaiveSum(p.AsSpan(0, 20)));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), sum);
    }

    private static void FillL4Checksum(byte[] p, byte protocol, int checksumOffset)
    {
        int t = TransportOffset(p);
        ReadOnlySpan<byte> l4 = p.AsSpan(t);
        ushort sum = (ushort)~NaiveFold(NaiveSum(l4, NaiveSum(PseudoHeader(p, protocol, l4.Length))));
        if (sum == 0 && protocol == 17)
        {
            sum = 0xFFFF;
        }
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(t + checksumOffset), sum);
    }
}
