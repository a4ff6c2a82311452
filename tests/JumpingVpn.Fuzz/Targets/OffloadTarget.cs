using System.Buffers.Binary;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun.Offload;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// The TUN offload paths (docs/performance.md): packets for the TUN into <see cref="GroCoalescer"/>,
/// and what a TUN read returns (virtio-net header + packet) into <see cref="GsoSplitter"/>, called as
/// LinuxTunDevice calls them. Both report bad input by return value (a packet the coalescer cannot use
/// goes out alone; a malformed super-packet is -1 and dropped), so any exception is a finding.
/// Input: a mode byte, then
/// <list type="bullet">
/// <item>even mode, GRO: records of a 16-bit little-endian length and that many bytes, each one Add; a
/// full queue is flushed and the packet added again, as the TUN writer does; every coalesced output is
/// then split again (what the receiving kernel would do with it).</item>
/// <item>odd mode, GSO: a 10-byte virtio-net header and the packet after it.</item>
/// </list>
/// </summary>
internal static class OffloadTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if ((data[0] & 1) == 0)
        {
            Coalesce(data[1..]);
        }
        else if (data.Length > VirtioNetHeader.Size)
        {
            Split(VirtioNetHeader.Read(data[1..]), data[(1 + VirtioNetHeader.Size)..]);
        }
    }

    private static void Coalesce(ReadOnlySpan<byte> records)
    {
        // Small enough that a few records fill it, so the flush-and-retry path is reached.
        var coalescer = new GroCoalescer(maxPackets: 16, arenaBytes: 96 * 1024, coalesceUdp: true);
        while (records.Length >= 2)
        {
            int length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(records), records.Length - 2);
            ReadOnlySpan<byte> packet = records.Slice(2, length);
            records = records[(2 + length)..];
            if (!coalescer.Add(packet))
            {
                coalescer.Flush(SplitCoalesced);
                coalescer.Add(packet);
            }
        }
        coalescer.Flush(SplitCoalesced);
    }

    private static bool SplitCoalesced(ReadOnlySpan<byte> written)
    {
        if (written.Length < VirtioNetHeader.Size)
        {
            throw new InvalidOperationException($"the coalescer wrote {written.Length} bytes, less than a virtio-net header");
        }
        Split(VirtioNetHeader.Read(written), written[VirtioNetHeader.Size..]);
        return true;
    }

    /// <summary>LinuxTunDevice's read path: a plain packet gets its checksum completed in place, a
    /// super-packet is split into a batch sized from its headers.</summary>
    private static void Split(in VirtioNetHeader header, ReadOnlySpan<byte> packet)
    {
        byte[] raw = packet.ToArray();
        if ((header.GsoType & ~VirtioNetHeader.GsoEcn) == VirtioNetHeader.GsoNone
            && (header.Flags & VirtioNetHeader.FlagNeedsCsum) != 0)
        {
            GsoSplitter.CompleteChecksum(raw, header.CsumStart, header.CsumOffset);
        }
        int needed = Math.Min(raw.Length, header.HdrLen + header.GsoSize + 128);
        GsoSplitter.Split(header, raw, new PacketBatch(128, Math.Max(2048, needed), 0));
    }

    /// <summary>A TCP flow of three in-order segments (v4 and v6) for the coalescer, a UDP datagram
    /// among them, and the coalescer's own output as GSO input.</summary>
    public static IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        foreach (bool v6 in new[] { false, true })
        {
            var records = new List<byte> { 0 };
            for (int i = 0; i < 3; i++)
            {
                AddRecord(records, Tcp(v6, 1000 + (uint)(i * 100), 100, flags: 0x10));
            }
            AddRecord(records, Udp(v6, 50));
            string family = v6 ? "v6" : "v4";
            yield return ("gro-" + family, [.. records]);

            var gro = new GroCoalescer();
            for (int i = 0; i < 3; i++)
            {
                gro.Add(Tcp(v6, 1000 + (uint)(i * 100), 100, flags: i == 2 ? (byte)0x18 : (byte)0x10));
            }
            var outputs = new List<byte[]>();
            gro.Flush(w =>
            {
                outputs.Add(w.ToArray());
                return true;
            });
            for (int i = 0; i < outputs.Count; i++)
            {
                yield return ($"gso-{family}-{i}", [1, .. outputs[i]]);
            }
        }
    }

    private static void AddRecord(List<byte> records, byte[] packet)
    {
        records.Add((byte)packet.Length);
        records.Add((byte)(packet.Length >> 8));
        records.AddRange(packet);
    }

    private static byte[] Tcp(bool v6, uint seq, int payload, byte flags)
    {
        byte[] p = Ip(v6, IpHeaders.ProtocolTcp, IpHeaders.TcpMinHeaderLength + payload);
        Span<byte> tcp = p.AsSpan(v6 ? IpHeaders.Ipv6HeaderLength : IpHeaders.Ipv4MinHeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[IpHeaders.TcpSeq..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[IpHeaders.TcpAck..], 1);
        tcp[IpHeaders.TcpDataOffset] = 5 << 4;
        tcp[IpHeaders.TcpFlags] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[IpHeaders.TcpWindow..], 512);
        tcp[IpHeaders.TcpMinHeaderLength..].Fill((byte)seq);
        FillL4Checksum(p, v6, IpHeaders.ProtocolTcp, IpHeaders.TcpChecksum);
        return p;
    }

    private static byte[] Udp(bool v6, int payload)
    {
        byte[] p = Ip(v6, IpHeaders.ProtocolUdp, 8 + payload);
        Span<byte> udp = p.AsSpan(v6 ? IpHeaders.Ipv6HeaderLength : IpHeaders.Ipv4MinHeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 443);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 50000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload));
        FillL4Checksum(p, v6, IpHeaders.ProtocolUdp, 6);
        return p;
    }

    private static byte[] Ip(bool v6, byte protocol, int l4Length)
    {
        int header = v6 ? IpHeaders.Ipv6HeaderLength : IpHeaders.Ipv4MinHeaderLength;
        byte[] p = new byte[header + l4Length];
        if (v6)
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(IpHeaders.Ipv6PayloadLength), (ushort)l4Length);
            p[IpHeaders.Ipv6NextHeader] = protocol;
            p[IpHeaders.Ipv6HopLimit] = 64;
            p[8] = p[24] = 0xfd;
            p[23] = 1;
            p[39] = 2;
        }
        else
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(IpHeaders.Ipv4TotalLength), (ushort)p.Length);
            p[IpHeaders.Ipv4Ttl] = 64;
            p[IpHeaders.Ipv4Protocol] = protocol;
            p[12] = p[16] = 10;
            p[15] = 1;
            p[19] = 2;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(IpHeaders.Ipv4Checksum), InternetChecksum.Compute(p.AsSpan(0, header)));
        }
        return p;
    }

    private static void FillL4Checksum(byte[] packet, bool v6, byte protocol, int checksumOffset)
    {
        int header = v6 ? IpHeaders.Ipv6HeaderLength : IpHeaders.Ipv4MinHeaderLength;
        ulong sum = InternetChecksum.PseudoHeader(packet, protocol, packet.Length - header);
        ushort checksum = InternetChecksum.Complete(InternetChecksum.Add(sum, packet.AsSpan(header)));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(header + checksumOffset), checksum);
    }
}
