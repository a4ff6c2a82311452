using System.Buffers.Binary;

namespace JumpingVpn.Platform.Tun.Offload;

/// <summary>
/// Write side of TUN offload (software GRO, as the kernel's tcp_gro_receive and wireguard-go's
/// tun/offload_linux.go do it): plain IP packets are queued with <see cref="Add"/>, consecutive TCP
/// segments of one flow are merged into one super-packet, and <see cref="Flush"/> hands every
/// resulting packet, prefixed with its virtio-net header, to a writer, so one write() delivers up to
/// 64 KB. A merged packet is sent CHECKSUM_PARTIAL with GSO_TCPV4/6 (the kernel re-segments or
/// delivers it as is); anything else goes out untouched behind an all-zero header.
///
/// Merge rules (a segment is appended to the most recent packet of its flow only):
/// same addresses and ports; IPv4 without options or fragmentation, IPv6 without extension headers;
/// IP headers equal apart from length/ID/checksum; the next sequence number exactly; the same ACK
/// number; the same TCP header length and options; the same flags, PSH allowed only on the last
/// segment; no SYN/FIN/RST/URG/CWR; every segment the size of the first except a shorter last one;
/// at most 65535 bytes in all; and a valid TCP checksum on each segment (the kernel recomputes the
/// checksum of a merged packet, so a corrupt segment must not be merged into it and "repaired").
/// Packets of one flow never change order; packets of different flows may (as with any GRO).
/// Allocation-free after construction; one thread at a time.
/// </summary>
internal sealed class TcpGroCoalescer
{
    public const int MaxPacketLength = 65535;

    private const byte UnmergeableFlags = IpHeaders.TcpSyn | IpHeaders.TcpFin | IpHeaders.TcpRst | IpHeaders.TcpUrg | IpHeaders.TcpCwr;

    private readonly byte[] _arena;
    private readonly byte[] _output;
    private readonly Entry[] _entries;
    private readonly Group[] _groups;
    private int _used;
    private int _entryCount;
    private int _groupCount;

    /// <param name="maxPackets">How many packets one flush may hold (wireguard-go uses 128).</param>
    /// <param name="arenaBytes">Room for the queued packets (each also takes a virtio-net header).</param>
    public TcpGroCoalescer(int maxPackets = 128, int arenaBytes = 256 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPackets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(arenaBytes, VirtioNetHeader.Size + MaxPacketLength);
        _arena = GC.AllocateArray<byte>(arenaBytes, pinned: true);
        _output = GC.AllocateArray<byte>(VirtioNetHeader.Size + MaxPacketLength, pinned: true);
        _entries = new Entry[maxPackets];
        _groups = new Group[maxPackets];
    }

    /// <summary>Number of queued input packets.</summary>
    public int PacketCount => _entryCount;

    /// <summary>Number of packets the next flush will write.</summary>
    public int OutputCount => _groupCount;

    /// <summary>
    /// Queues a copy of <paramref name="packet"/>. Returns false when there is no room (flush and
    /// retry) or the packet is empty or larger than 65535 bytes (it can never be queued).
    /// </summary>
    public bool Add(ReadOnlySpan<byte> packet)
    {
        int need = (VirtioNetHeader.Size + packet.Length + 7) & ~7;
        if (packet.Length == 0 || packet.Length > MaxPacketLength || _entryCount == _entries.Length || _used + need > _arena.Length)
        {
            return false;
        }
        int offset = _used + VirtioNetHeader.Size;
        packet.CopyTo(_arena.AsSpan(offset));
        _used += need;
        int index = _entryCount++;
        _entries[index] = new Entry { Offset = offset, Length = packet.Length, Next = -1 };

        if (!TryParseTcp(packet, out TcpInfo info))
        {
            NewGroup(index, sealed_: true, default, 0);
            return true;
        }
        uint hash = FlowHash(packet, info.TransportOffset);
        int last = FindLastGroupOfFlow(packet, info, hash);
        if (last >= 0 && TryAppend(ref _groups[last], index, packet, info))
        {
            return true;
        }
        bool sealed_ = (info.Flags & (UnmergeableFlags | IpHeaders.TcpPsh)) != 0 || info.PayloadLength == 0;
        NewGroup(index, sealed_, info, hash);
        return true;
    }

    /// <summary>
    /// Writes every queued packet, in order, each as one span starting with its virtio-net header,
    /// then empties the queue. Returns false if any write returned false (the rest are still tried).
    /// </summary>
    public bool Flush(Func<ReadOnlySpan<byte>, bool> write)
    {
        bool ok = true;
        for (int g = 0; g < _groupCount; g++)
        {
            ref Group group = ref _groups[g];
            if (group.Count == 1)
            {
                ref Entry entry = ref _entries[group.Head];
                Span<byte> framed = _arena.AsSpan(entry.Offset - VirtioNetHeader.Size, VirtioNetHeader.Size + entry.Length);
                framed[..VirtioNetHeader.Size].Clear(); // GSO_NONE, no flags: the checksums are already valid
                ok &= write(framed);
            }
            else
            {
                ok &= write(BuildMerged(ref group));
            }
        }
        _used = 0;
        _entryCount = 0;
        _groupCount = 0;
        return ok;
    }

    private ReadOnlySpan<byte> BuildMerged(ref Group group)
    {
        ref Entry head = ref _entries[group.Head];
        int t = group.TransportOffset;
        int headerLength = t + group.TcpHeaderLength;
        int total = headerLength + group.TotalPayload;
        Span<byte> packet = _output.AsSpan(VirtioNetHeader.Size, total);
        _arena.AsSpan(head.Offset, headerLength).CopyTo(packet);
        int at = headerLength;
        for (int e = group.Head; e >= 0; e = _entries[e].Next)
        {
            ref Entry entry = ref _entries[e];
            int payload = entry.Length - headerLength;
            _arena.AsSpan(entry.Offset + headerLength, payload).CopyTo(packet[at..]);
            at += payload;
        }

        bool v4 = (packet[0] >> 4) == 4;
        if (v4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[IpHeaders.Ipv4TotalLength..], (ushort)total);
            IpHeaders.FixIpv4Checksum(packet[..t]);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[IpHeaders.Ipv6PayloadLength..], (ushort)(total - IpHeaders.Ipv6HeaderLength));
        }
        // PSH and the newest window come from the last segment (the merged flags otherwise equal).
        ReadOnlySpan<byte> tailTcp = _arena.AsSpan(_entries[group.Tail].Offset + t, group.TcpHeaderLength);
        Span<byte> tcp = packet[t..];
        tcp[IpHeaders.TcpFlags] = tailTcp[IpHeaders.TcpFlags];
        tailTcp.Slice(IpHeaders.TcpWindow, 2).CopyTo(tcp[IpHeaders.TcpWindow..]);
        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not complemented; the
        // kernel adds the rest from csum_start (virtio spec §5.1.6.2, skb_checksum_help).
        ulong pseudo = InternetChecksum.PseudoHeader(packet, IpHeaders.ProtocolTcp, total - t);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[IpHeaders.TcpChecksum..], InternetChecksum.Fold(pseudo));

        var header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsCsum,
            GsoType = v4 ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoTcpV6,
            HdrLen = (ushort)headerLength,
            GsoSize = (ushort)group.GsoSize,
            CsumStart = (ushort)t,
            CsumOffset = IpHeaders.TcpChecksum,
        };
        header.Write(_output);
        return _output.AsSpan(0, VirtioNetHeader.Size + total);
    }

    private bool TryAppend(ref Group group, int index, ReadOnlySpan<byte> packet, in TcpInfo info)
    {
        if (group.Sealed
            || (info.Flags & UnmergeableFlags) != 0
            || info.PayloadLength == 0
            || info.PayloadLength > group.GsoSize
            || info.TransportOffset != group.TransportOffset
            || info.TcpHeaderLength != group.TcpHeaderLength
            || info.Seq != group.NextSeq
            || group.TransportOffset + group.TcpHeaderLength + group.TotalPayload + info.PayloadLength > MaxPacketLength)
        {
            return false;
        }
        ReadOnlySpan<byte> head = _arena.AsSpan(_entries[group.Head].Offset, _entries[group.Head].Length);
        int t = info.TransportOffset;
        if ((info.Flags & ~IpHeaders.TcpPsh) != head[t + IpHeaders.TcpFlags]
            || !packet.Slice(t + IpHeaders.TcpAck, 4).SequenceEqual(head.Slice(t + IpHeaders.TcpAck, 4))
            || !packet.Slice(t + IpHeaders.TcpMinHeaderLength, info.TcpHeaderLength - IpHeaders.TcpMinHeaderLength)
                .SequenceEqual(head.Slice(t + IpHeaders.TcpMinHeaderLength, info.TcpHeaderLength - IpHeaders.TcpMinHeaderLength))
            || !IpHeadersMatch(packet, head))
        {
            return false;
        }
        if (!group.HeadChecked)
        {
            group.HeadChecked = true;
            if (!TcpChecksumValid(head, t))
            {
                group.Sealed = true;
                return false;
            }
        }
        if (!TcpChecksumValid(packet, t))
        {
            return false;
        }
        _entries[group.Tail].Next = index;
        group.Tail = index;
        group.Count++;
        group.TotalPayload += info.PayloadLength;
        group.NextSeq += (uint)info.PayloadLength;
        if (info.PayloadLength < group.GsoSize || (info.Flags & IpHeaders.TcpPsh) != 0)
        {
            group.Sealed = true; // only the last segment may be short or carry PSH
        }
        return true;
    }

    private void NewGroup(int index, bool sealed_, in TcpInfo info, uint hash)
    {
        _groups[_groupCount++] = new Group
        {
            Head = index,
            Tail = index,
            Count = 1,
            Sealed = sealed_,
            IsTcp = info.TcpHeaderLength != 0,
            FlowHash = hash,
            TransportOffset = info.TransportOffset,
            TcpHeaderLength = info.TcpHeaderLength,
            GsoSize = info.PayloadLength,
            TotalPayload = info.PayloadLength,
            NextSeq = info.Seq + (uint)info.PayloadLength,
        };
    }

    /// <summary>The most recent group of the packet's flow (appending anywhere earlier would reorder the flow).</summary>
    private int FindLastGroupOfFlow(ReadOnlySpan<byte> packet, in TcpInfo info, uint hash)
    {
        for (int g = _groupCount - 1; g >= 0; g--)
        {
            ref Group group = ref _groups[g];
            if (!group.IsTcp || group.FlowHash != hash || group.TransportOffset != info.TransportOffset)
            {
                continue;
            }
            ReadOnlySpan<byte> head = _arena.AsSpan(_entries[group.Head].Offset, _entries[group.Head].Length);
            if (SameFlow(packet, head, info.TransportOffset))
            {
                return g;
            }
        }
        return -1;
    }

    private static bool SameFlow(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int transportOffset)
    {
        if ((a[0] >> 4) != (b[0] >> 4))
        {
            return false;
        }
        bool v4 = (a[0] >> 4) == 4;
        int addressStart = v4 ? 12 : 8;
        int addressLength = v4 ? 8 : 32;
        return a.Slice(addressStart, addressLength).SequenceEqual(b.Slice(addressStart, addressLength))
            && a.Slice(transportOffset, 4).SequenceEqual(b.Slice(transportOffset, 4));
    }

    private static uint FlowHash(ReadOnlySpan<byte> packet, int transportOffset)
    {
        bool v4 = (packet[0] >> 4) == 4;
        ReadOnlySpan<byte> addresses = v4 ? packet.Slice(12, 8) : packet.Slice(8, 32);
        uint hash = BinaryPrimitives.ReadUInt32LittleEndian(packet[transportOffset..]);
        for (int i = 0; i + 4 <= addresses.Length; i += 4)
        {
            hash = (hash * 0x9E3779B1) ^ BinaryPrimitives.ReadUInt32LittleEndian(addresses[i..]);
        }
        return hash;
    }

    /// <summary>Equal apart from length, ID and checksum (IPv4: TOS, DF, TTL; IPv6: traffic class,
    /// flow label, hop limit). Addresses and protocol already matched with the flow.</summary>
    private static bool IpHeadersMatch(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if ((a[0] >> 4) == 4)
        {
            return a[1] == b[1] && a[IpHeaders.Ipv4FlagsFragment] == b[IpHeaders.Ipv4FlagsFragment] && a[IpHeaders.Ipv4Ttl] == b[IpHeaders.Ipv4Ttl];
        }
        return a[..4].SequenceEqual(b[..4]) && a[IpHeaders.Ipv6HopLimit] == b[IpHeaders.Ipv6HopLimit];
    }

    private static bool TcpChecksumValid(ReadOnlySpan<byte> packet, int transportOffset)
    {
        ReadOnlySpan<byte> l4 = packet[transportOffset..];
        ulong acc = InternetChecksum.PseudoHeader(packet, IpHeaders.ProtocolTcp, l4.Length);
        return InternetChecksum.Fold(InternetChecksum.Add(acc, l4)) == 0xFFFF;
    }

    /// <summary>Accepts only what can be merged safely: IPv4 without options/fragments or IPv6 without
    /// extension headers, carrying TCP, with lengths that agree with the buffer.</summary>
    private static bool TryParseTcp(ReadOnlySpan<byte> packet, out TcpInfo info)
    {
        info = default;
        int version = packet[0] >> 4;
        int t;
        if (version == 4)
        {
            if (packet.Length < IpHeaders.Ipv4MinHeaderLength
                || (packet[0] & 0xF) != 5
                || packet[IpHeaders.Ipv4Protocol] != IpHeaders.ProtocolTcp
                || BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv4TotalLength..]) != packet.Length
                || (BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv4FlagsFragment..]) & 0x3FFF) != 0)
            {
                return false; // options, MF, or a fragment offset
            }
            t = IpHeaders.Ipv4MinHeaderLength;
        }
        else if (version == 6)
        {
            if (packet.Length < IpHeaders.Ipv6HeaderLength
                || packet[IpHeaders.Ipv6NextHeader] != IpHeaders.ProtocolTcp
                || BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv6PayloadLength..]) + IpHeaders.Ipv6HeaderLength != packet.Length)
            {
                return false;
            }
            t = IpHeaders.Ipv6HeaderLength;
        }
        else
        {
            return false;
        }
        if (packet.Length < t + IpHeaders.TcpMinHeaderLength)
        {
            return false;
        }
        int tcpHeaderLength = (packet[t + IpHeaders.TcpDataOffset] >> 4) * 4;
        if (tcpHeaderLength < IpHeaders.TcpMinHeaderLength || t + tcpHeaderLength > packet.Length)
        {
            return false;
        }
        info = new TcpInfo
        {
            TransportOffset = t,
            TcpHeaderLength = tcpHeaderLength,
            PayloadLength = packet.Length - t - tcpHeaderLength,
            Flags = packet[t + IpHeaders.TcpFlags],
            Seq = BinaryPrimitives.ReadUInt32BigEndian(packet[(t + IpHeaders.TcpSeq)..]),
        };
        return true;
    }

    private struct Entry
    {
        public int Offset; // of the packet in the arena; VirtioNetHeader.Size bytes before it are spare
        public int Length;
        public int Next;   // next entry of the same group, -1 at the tail
    }

    private struct Group
    {
        public int Head;
        public int Tail;
        public int Count;
        public bool Sealed;
        public bool IsTcp;
        public bool HeadChecked;
        public uint FlowHash;
        public int TransportOffset;
        public int TcpHeaderLength;
        public int GsoSize;
        public int TotalPayload;
        public uint NextSeq;
    }

    private struct TcpInfo
    {
        public int TransportOffset;
        public int TcpHeaderLength;
        public int PayloadLength;
        public byte Flags;
        public uint Seq;
    }
}
