using System.Buffers.Binary;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Tun.Offload;

/// <summary>
/// Write side of TUN offload (software GRO, as the kernel's tcp_gro_receive/udp_gro_receive and
/// wireguard-go's tun/offload_linux.go do it): plain IP packets are queued with <see cref="Add"/>,
/// consecutive TCP segments (and, when enabled, UDP datagrams) of one flow are merged into one
/// super-packet, and <see cref="Flush"/> hands every resulting packet, prefixed with its virtio-net
/// header, to a writer, so one write() delivers up to 64 KB. A merged packet is sent CHECKSUM_PARTIAL
/// with GSO_TCPV4/6 or GSO_UDP_L4 (the kernel re-segments it, or delivers it whole to a socket that
/// asked for UDP_GRO); anything else goes out untouched behind an all-zero header.
///
/// TCP merge rules (a segment is appended to the most recent packet of its flow only):
/// same addresses and ports; IPv4 without options or fragmentation, IPv6 without extension headers;
/// IP headers equal apart from length/ID/checksum; the next sequence number exactly; the same ACK
/// number; the same TCP header length and options; the same flags, PSH allowed only on the last
/// segment; no SYN/FIN/RST/URG/CWR; every segment the size of the first except a shorter last one;
/// at most 65535 bytes in all; and a valid TCP checksum on each segment (the kernel recomputes the
/// checksum of a merged packet, so a corrupt segment must not be merged into it and "repaired").
///
/// UDP merge rules (docs/performance.md "Inner UDP"), only when the TUN accepted USO: the same
/// 5-tuple and IP header rules as TCP; every datagram the payload size of the first except a shorter
/// last one, which ends the packet; a UDP length field that agrees with the IP length; a non-zero,
/// valid UDP checksum on each datagram (a zero "no checksum" IPv4 datagram goes alone, since the
/// kernel would give its segments one); for IPv4 without DF, IDs that count up by one, because the
/// kernel numbers the segments it cuts that way (with DF the ID carries nothing, RFC 6864); at most
/// <see cref="MaxUdpSegments"/> datagrams and 65535 bytes. The merged packet's UDP length field holds
/// the whole L4 length, as udp_gro_complete leaves it.
/// Packets of one flow never change order; packets of different flows may (as with any GRO).
/// Allocation-free after construction; one thread at a time.
/// </summary>
internal sealed class GroCoalescer
{
    /// <summary>Writes one frame given as <paramref name="count"/> parts (writev); false when it was dropped.</summary>
    public unsafe delegate bool GatherWriter(LibC.IoVec* parts, int count);

    public const int MaxPacketLength = 65535;

    /// <summary>Kernels before 6.7 cap a UDP GSO packet at 64 segments (UDP_MAX_SEGMENTS), and
    /// virtio_net_hdr_to_skb refuses a TUN write with more.</summary>
    public const int MaxUdpSegments = 64;

    private const byte UnmergeableFlags = IpHeaders.TcpSyn | IpHeaders.TcpFin | IpHeaders.TcpRst | IpHeaders.TcpUrg | IpHeaders.TcpCwr;

    private readonly byte[] _arena;
    private readonly byte[] _output;
    private readonly unsafe byte* _arenaBase;   // both pinned: gather lists point into them
    private readonly unsafe byte* _outputBase;
    private readonly LibC.IoVec[] _partsArray;  // pinned: one merged packet's gather list (headers + every payload)
    private readonly unsafe LibC.IoVec* _parts;
    private readonly Entry[] _entries;
    private readonly Group[] _groups;
    private int _used;
    private int _entryCount;
    private int _groupCount;

    /// <param name="maxPackets">How many packets one flush may hold (wireguard-go uses 128).</param>
    /// <param name="arenaBytes">Room for the queued packets (each also takes a virtio-net header).</param>
    /// <param name="coalesceUdp">Merge UDP datagrams too: only for a TUN that accepted TUN_F_USO4/6,
    /// since an older kernel refuses GSO_UDP_L4 writes.</param>
    public unsafe GroCoalescer(int maxPackets = 128, int arenaBytes = 256 * 1024, bool coalesceUdp = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPackets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(arenaBytes, VirtioNetHeader.Size + MaxPacketLength);
        _arena = GC.AllocateArray<byte>(arenaBytes, pinned: true);
        _output = GC.AllocateArray<byte>(VirtioNetHeader.Size + MaxPacketLength, pinned: true);
        _arenaBase = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_arena, 0);
        _outputBase = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_output, 0);
        _partsArray = GC.AllocateArray<LibC.IoVec>(maxPackets + 1, pinned: true);
        _parts = (LibC.IoVec*)Marshal.UnsafeAddrOfPinnedArrayElement(_partsArray, 0);
        _entries = new Entry[maxPackets];
        _groups = new Group[maxPackets];
        CoalescesUdp = coalesceUdp;
    }

    /// <summary>True when UDP datagrams are merged as well as TCP segments.</summary>
    public bool CoalescesUdp { get; }

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

        if (!TryParse(packet, CoalescesUdp, out FlowInfo info))
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
        bool sealed_ = info.PayloadLength == 0
            || (info.Protocol == IpHeaders.ProtocolTcp && (info.Flags & (UnmergeableFlags | IpHeaders.TcpPsh)) != 0);
        NewGroup(index, sealed_, info, hash);
        return true;
    }

    /// <summary>A group of one packet, framed behind its virtio-net header as the kernel takes it.</summary>
    private Span<byte> Single(ref Group group)
    {
        ref Entry entry = ref _entries[group.Head];
        Span<byte> framed = _arena.AsSpan(entry.Offset - VirtioNetHeader.Size, VirtioNetHeader.Size + entry.Length);
        framed[..VirtioNetHeader.Size].Clear(); // GSO_NONE, no flags: the checksums are already valid
        return framed;
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
                ok &= write(Single(ref group));
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

    /// <summary>
    /// Like <see cref="Flush(Func{ReadOnlySpan{byte}, bool})"/>, but a merged packet is handed to
    /// <paramref name="gather"/> as a gather list instead of being assembled: its rebuilt headers (behind the
    /// virtio-net header) from a small buffer, then each segment's payload where <see cref="Add"/> queued it.
    /// A payload byte is then copied once in user space (into the queue) instead of twice (docs/performance.md
    /// "Packet-thread profile"). The parts stay valid until this call returns.
    /// </summary>
    public unsafe bool Flush(Func<ReadOnlySpan<byte>, bool> write, GatherWriter gather)
    {
        bool ok = true;
        for (int g = 0; g < _groupCount; g++)
        {
            ref Group group = ref _groups[g];
            if (group.Count == 1)
            {
                ok &= write(Single(ref group));
                continue;
            }
            int framedHeaders = BuildMergedHeaders(ref group, out int headerLength);
            LibC.IoVec* parts = _parts;
            parts[0] = new LibC.IoVec { Base = _outputBase, Length = (nuint)framedHeaders };
            int count = 1;
            for (int e = group.Head; e >= 0; e = _entries[e].Next)
            {
                ref Entry entry = ref _entries[e];
                parts[count++] = new LibC.IoVec { Base = _arenaBase + entry.Offset + headerLength, Length = (nuint)(entry.Length - headerLength) };
            }
            ok &= gather(parts, count);
        }
        _used = 0;
        _entryCount = 0;
        _groupCount = 0;
        return ok;
    }

    /// <summary>The merged packet, assembled in one buffer behind its virtio-net header.</summary>
    private ReadOnlySpan<byte> BuildMerged(ref Group group)
    {
        int at = BuildMergedHeaders(ref group, out int headerLength);
        for (int e = group.Head; e >= 0; e = _entries[e].Next)
        {
            ref Entry entry = ref _entries[e];
            int payload = entry.Length - headerLength;
            _arena.AsSpan(entry.Offset + headerLength, payload).CopyTo(_output.AsSpan(at));
            at += payload;
        }
        return _output.AsSpan(0, at);
    }

    /// <summary>
    /// Writes the merged packet's virtio-net header and its IP and L4 headers (lengths, IPv4 checksum, the
    /// pseudo-header sum for CHECKSUM_PARTIAL) to the start of the output buffer; the payloads follow them
    /// there or in a gather list. Returns the bytes written; <paramref name="headerLength"/> is the IP + L4
    /// header length.
    /// </summary>
    private int BuildMergedHeaders(ref Group group, out int headerLength)
    {
        ref Entry head = ref _entries[group.Head];
        int t = group.TransportOffset;
        headerLength = t + group.L4HeaderLength;
        int total = headerLength + group.TotalPayload;
        int l4Length = total - t;
        Span<byte> packet = _output.AsSpan(VirtioNetHeader.Size, headerLength);
        _arena.AsSpan(head.Offset, headerLength).CopyTo(packet);

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
        Span<byte> l4 = packet[t..];
        byte gsoType;
        int checksumAt;
        if (group.Protocol == IpHeaders.ProtocolTcp)
        {
            // PSH and the newest window come from the last segment (the merged flags otherwise equal).
            ReadOnlySpan<byte> tailTcp = _arena.AsSpan(_entries[group.Tail].Offset + t, group.L4HeaderLength);
            l4[IpHeaders.TcpFlags] = tailTcp[IpHeaders.TcpFlags];
            tailTcp.Slice(IpHeaders.TcpWindow, 2).CopyTo(l4[IpHeaders.TcpWindow..]);
            gsoType = v4 ? VirtioNetHeader.GsoTcpV4 : VirtioNetHeader.GsoTcpV6;
            checksumAt = IpHeaders.TcpChecksum;
        }
        else
        {
            // The whole L4 length: the kernel derives each segment's length and checksum from it.
            BinaryPrimitives.WriteUInt16BigEndian(l4[IpHeaders.UdpLength..], (ushort)l4Length);
            gsoType = VirtioNetHeader.GsoUdpL4;
            checksumAt = IpHeaders.UdpChecksum;
        }
        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, not complemented; the
        // kernel adds the rest from csum_start (virtio spec §5.1.6.2, skb_checksum_help).
        ulong pseudo = InternetChecksum.PseudoHeader(packet, group.Protocol, l4Length);
        BinaryPrimitives.WriteUInt16BigEndian(l4[checksumAt..], InternetChecksum.Fold(pseudo));

        var header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsCsum,
            GsoType = gsoType,
            HdrLen = (ushort)headerLength,
            GsoSize = (ushort)group.GsoSize,
            CsumStart = (ushort)t,
            CsumOffset = (ushort)checksumAt,
        };
        header.Write(_output);
        return VirtioNetHeader.Size + headerLength;
    }

    private bool TryAppend(ref Group group, int index, ReadOnlySpan<byte> packet, in FlowInfo info)
    {
        if (group.Sealed
            || info.PayloadLength == 0
            || info.PayloadLength > group.GsoSize
            || info.TransportOffset != group.TransportOffset
            || info.L4HeaderLength != group.L4HeaderLength
            || group.TransportOffset + group.L4HeaderLength + group.TotalPayload + info.PayloadLength > MaxPacketLength)
        {
            return false;
        }
        ReadOnlySpan<byte> head = _arena.AsSpan(_entries[group.Head].Offset, _entries[group.Head].Length);
        int t = info.TransportOffset;
        if (!IpHeadersMatch(packet, head))
        {
            return false;
        }
        if (info.Protocol == IpHeaders.ProtocolTcp)
        {
            if ((info.Flags & UnmergeableFlags) != 0
                || info.Seq != group.NextSeq
                || (info.Flags & ~IpHeaders.TcpPsh) != head[t + IpHeaders.TcpFlags]
                || !packet.Slice(t + IpHeaders.TcpAck, 4).SequenceEqual(head.Slice(t + IpHeaders.TcpAck, 4))
                || !packet.Slice(t + IpHeaders.TcpMinHeaderLength, info.L4HeaderLength - IpHeaders.TcpMinHeaderLength)
                    .SequenceEqual(head.Slice(t + IpHeaders.TcpMinHeaderLength, info.L4HeaderLength - IpHeaders.TcpMinHeaderLength)))
            {
                return false;
            }
        }
        else if (group.Count >= MaxUdpSegments || !UdpIdFollows(packet, head, group.Count))
        {
            return false;
        }
        if (!group.HeadChecked)
        {
            group.HeadChecked = true;
            if (!L4ChecksumValid(head, t, group.Protocol))
            {
                group.Sealed = true;
                return false;
            }
        }
        if (!L4ChecksumValid(packet, t, info.Protocol))
        {
            return false;
        }
        _entries[group.Tail].Next = index;
        group.Tail = index;
        group.Count++;
        group.TotalPayload += info.PayloadLength;
        group.NextSeq += (uint)info.PayloadLength;
        if (info.PayloadLength < group.GsoSize || (info.Protocol == IpHeaders.ProtocolTcp && (info.Flags & IpHeaders.TcpPsh) != 0))
        {
            group.Sealed = true; // only the last segment may be short or carry PSH
        }
        return true;
    }

    /// <summary>IPv4 without DF: the ID must be the head's plus the datagram's position, which is what
    /// the kernel writes into the segments it cuts from the merged packet.</summary>
    private static bool UdpIdFollows(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> head, int position)
    {
        if ((packet[0] >> 4) != 4 || (packet[IpHeaders.Ipv4FlagsFragment] & IpHeaders.Ipv4DontFragment) != 0)
        {
            return true;
        }
        ushort headId = BinaryPrimitives.ReadUInt16BigEndian(head[IpHeaders.Ipv4Id..]);
        return BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv4Id..]) == (ushort)(headId + position);
    }

    private void NewGroup(int index, bool sealed_, in FlowInfo info, uint hash)
    {
        _groups[_groupCount++] = new Group
        {
            Head = index,
            Tail = index,
            Count = 1,
            Sealed = sealed_,
            Protocol = info.Protocol,
            FlowHash = hash,
            TransportOffset = info.TransportOffset,
            L4HeaderLength = info.L4HeaderLength,
            GsoSize = info.PayloadLength,
            TotalPayload = info.PayloadLength,
            NextSeq = info.Seq + (uint)info.PayloadLength,
        };
    }

    /// <summary>The most recent group of the packet's flow (appending anywhere earlier would reorder the flow).</summary>
    private int FindLastGroupOfFlow(ReadOnlySpan<byte> packet, in FlowInfo info, uint hash)
    {
        for (int g = _groupCount - 1; g >= 0; g--)
        {
            ref Group group = ref _groups[g];
            if (group.Protocol != info.Protocol || group.FlowHash != hash || group.TransportOffset != info.TransportOffset)
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

    private static bool L4ChecksumValid(ReadOnlySpan<byte> packet, int transportOffset, byte protocol)
    {
        ReadOnlySpan<byte> l4 = packet[transportOffset..];
        ulong acc = InternetChecksum.PseudoHeader(packet, protocol, l4.Length);
        return InternetChecksum.Fold(InternetChecksum.Add(acc, l4)) == 0xFFFF;
    }

    /// <summary>Accepts only what can be merged safely: IPv4 without options/fragments or IPv6 without
    /// extension headers, carrying TCP (or UDP when <paramref name="udp"/>), with lengths that agree
    /// with the buffer.</summary>
    private static bool TryParse(ReadOnlySpan<byte> packet, bool udp, out FlowInfo info)
    {
        info = default;
        int version = packet[0] >> 4;
        int t;
        byte protocol;
        if (version == 4)
        {
            if (packet.Length < IpHeaders.Ipv4MinHeaderLength
                || (packet[0] & 0xF) != 5
                || BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv4TotalLength..]) != packet.Length
                || (BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv4FlagsFragment..]) & 0x3FFF) != 0)
            {
                return false; // options, MF, or a fragment offset
            }
            t = IpHeaders.Ipv4MinHeaderLength;
            protocol = packet[IpHeaders.Ipv4Protocol];
        }
        else if (version == 6)
        {
            if (packet.Length < IpHeaders.Ipv6HeaderLength
                || BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv6PayloadLength..]) + IpHeaders.Ipv6HeaderLength != packet.Length)
            {
                return false;
            }
            t = IpHeaders.Ipv6HeaderLength;
            protocol = packet[IpHeaders.Ipv6NextHeader];
        }
        else
        {
            return false;
        }
        if (protocol == IpHeaders.ProtocolTcp)
        {
            if (packet.Length < t + IpHeaders.TcpMinHeaderLength)
            {
                return false;
            }
            int tcpHeaderLength = (packet[t + IpHeaders.TcpDataOffset] >> 4) * 4;
            if (tcpHeaderLength < IpHeaders.TcpMinHeaderLength || t + tcpHeaderLength > packet.Length)
            {
                return false;
            }
            info = new FlowInfo
            {
                Protocol = protocol,
                TransportOffset = t,
                L4HeaderLength = tcpHeaderLength,
                PayloadLength = packet.Length - t - tcpHeaderLength,
                Flags = packet[t + IpHeaders.TcpFlags],
                Seq = BinaryPrimitives.ReadUInt32BigEndian(packet[(t + IpHeaders.TcpSeq)..]),
            };
            return true;
        }
        if (protocol != IpHeaders.ProtocolUdp || !udp
            || packet.Length < t + IpHeaders.UdpHeaderLength
            || BinaryPrimitives.ReadUInt16BigEndian(packet[(t + IpHeaders.UdpLength)..]) != packet.Length - t
            || BinaryPrimitives.ReadUInt16BigEndian(packet[(t + IpHeaders.UdpChecksum)..]) == 0)
        {
            return false;
        }
        info = new FlowInfo
        {
            Protocol = protocol,
            TransportOffset = t,
            L4HeaderLength = IpHeaders.UdpHeaderLength,
            PayloadLength = packet.Length - t - IpHeaders.UdpHeaderLength,
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
        public byte Protocol;    // 0: not coalescable (sealed on its own)
        public bool HeadChecked;
        public uint FlowHash;
        public int TransportOffset;
        public int L4HeaderLength;
        public int GsoSize;
        public int TotalPayload;
        public uint NextSeq;     // TCP only
    }

    private struct FlowInfo
    {
        public byte Protocol;
        public int TransportOffset;
        public int L4HeaderLength;
        public int PayloadLength;
        public byte Flags;       // TCP only
        public uint Seq;         // TCP only
    }
}
