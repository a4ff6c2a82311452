using System.Buffers.Binary;
using JumpingVpn.Platform.Buffers;

namespace JumpingVpn.Platform.Tun.Offload;

/// <summary>
/// Read side of TUN offload: turns what one read() returned (a virtio-net header plus an IP packet
/// that may be a TCP or UDP super-packet of up to 64 KB) into plain, fully checksummed IP packets,
/// one per <see cref="PacketBatch"/> slot at data offset 0. This is the work a NIC does for TSO/USO
/// (and what the kernel's tcp_gso_segment/__udp_gso_segment do in software): cut the payload into
/// gso_size chunks and repeat the headers, fixing per segment the IPv4 total length, ID and header
/// checksum (or the IPv6 payload length), the TCP sequence number and flags (FIN/PSH only on the last
/// segment, CWR only on the first, as tcp_gso_segment does) or the UDP length, and the L4 checksum.
/// The header offsets come from the packet itself and csum_start, never from hdr_len, which the
/// kernel does not fill reliably on forwarded packets (wireguard-go tun_linux.go notes this).
/// </summary>
internal static class GsoSplitter
{
    /// <summary>Returned by <see cref="SplitAt"/> when the segments would fit an empty batch but not
    /// the slots left after <c>first</c>: the caller keeps the packet for its next batch.</summary>
    public const int NoRoom = -2;

    /// <summary>
    /// Splits <paramref name="packet"/> (the IP packet after the virtio-net header) into
    /// <paramref name="output"/> starting at slot 0 and sets its Count. Returns the number of packets,
    /// or -1 when the packet is malformed, of an unsupported GSO type, or does not fit the batch
    /// (too many segments or a segment larger than a slot): the caller drops it.
    /// </summary>
    public static int Split(in VirtioNetHeader header, ReadOnlySpan<byte> packet, PacketBatch output)
    {
        output.Count = 0;
        int count = SplitAt(header, packet, output, 0);
        if (count > 0)
        {
            output.Count = count;
        }
        return count;
    }

    /// <summary>
    /// Like <see cref="Split"/>, but writes the packets into slots <paramref name="first"/> onwards and
    /// leaves Count alone (the TUN reader appends several reads to one batch). Returns the number of
    /// packets written, -1 for a packet to drop, or <see cref="NoRoom"/>.
    /// </summary>
    public static int SplitAt(in VirtioNetHeader header, ReadOnlySpan<byte> packet, PacketBatch output, int first)
    {
        if (first >= output.Slots)
        {
            return NoRoom;
        }
        int gsoType = header.GsoType & ~VirtioNetHeader.GsoEcn;
        if (gsoType == VirtioNetHeader.GsoNone)
        {
            return CopySingle(header, packet, output, first);
        }
        if (packet.Length < 1)
        {
            return -1;
        }
        int version = packet[0] >> 4;
        byte protocol;
        switch (gsoType)
        {
            case VirtioNetHeader.GsoTcpV4 when version == 4:
            case VirtioNetHeader.GsoTcpV6 when version == 6:
                protocol = IpHeaders.ProtocolTcp;
                break;
            case VirtioNetHeader.GsoUdpL4 when version is 4 or 6:
                protocol = IpHeaders.ProtocolUdp;
                break;
            default:
                return -1; // legacy UFO or a version mismatch
        }
        int transport = TransportOffset(header, packet, version, protocol);
        if (transport < 0)
        {
            return -1;
        }
        int l4HeaderLength;
        if (protocol == IpHeaders.ProtocolTcp)
        {
            if (transport + IpHeaders.TcpMinHeaderLength > packet.Length)
            {
                return -1;
            }
            l4HeaderLength = (packet[transport + IpHeaders.TcpDataOffset] >> 4) * 4;
            if (l4HeaderLength < IpHeaders.TcpMinHeaderLength)
            {
                return -1;
            }
        }
        else
        {
            l4HeaderLength = IpHeaders.UdpHeaderLength;
        }
        int headerLength = transport + l4HeaderLength;
        int gsoSize = header.GsoSize;
        if (headerLength > packet.Length || gsoSize == 0)
        {
            return -1;
        }
        int payloadLength = packet.Length - headerLength;
        int segments = payloadLength == 0 ? 1 : (payloadLength + gsoSize - 1) / gsoSize;
        if (segments > output.Slots || headerLength + Math.Min(gsoSize, payloadLength) > output.SlotCapacity)
        {
            return -1;
        }
        if (segments > output.Slots - first)
        {
            return NoRoom;
        }

        ReadOnlySpan<byte> headers = packet[..headerLength];
        ushort ipId = version == 4 ? BinaryPrimitives.ReadUInt16BigEndian(packet[IpHeaders.Ipv4Id..]) : (ushort)0;
        uint seq = protocol == IpHeaders.ProtocolTcp ? BinaryPrimitives.ReadUInt32BigEndian(packet[(transport + IpHeaders.TcpSeq)..]) : 0;
        for (int i = 0; i < segments; i++)
        {
            int start = headerLength + (i * gsoSize);
            int chunk = Math.Min(gsoSize, packet.Length - start);
            int segmentLength = headerLength + chunk;
            Span<byte> segment = output.Data(first + i)[..segmentLength];
            headers.CopyTo(segment);
            packet.Slice(start, chunk).CopyTo(segment[headerLength..]);

            if (version == 4)
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[IpHeaders.Ipv4TotalLength..], (ushort)segmentLength);
                BinaryPrimitives.WriteUInt16BigEndian(segment[IpHeaders.Ipv4Id..], (ushort)(ipId + i));
                IpHeaders.FixIpv4Checksum(segment[..transport]);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(segment[IpHeaders.Ipv6PayloadLength..], (ushort)(segmentLength - IpHeaders.Ipv6HeaderLength));
            }

            Span<byte> l4 = segment[transport..];
            int checksumAt;
            if (protocol == IpHeaders.ProtocolTcp)
            {
                BinaryPrimitives.WriteUInt32BigEndian(l4[IpHeaders.TcpSeq..], seq + (uint)(i * gsoSize));
                if (i != segments - 1)
                {
                    l4[IpHeaders.TcpFlags] &= unchecked((byte)~(IpHeaders.TcpFin | IpHeaders.TcpPsh));
                }
                if (i != 0)
                {
                    l4[IpHeaders.TcpFlags] &= unchecked((byte)~IpHeaders.TcpCwr);
                }
                checksumAt = IpHeaders.TcpChecksum;
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(l4[IpHeaders.UdpLength..], (ushort)l4.Length);
                checksumAt = IpHeaders.UdpChecksum;
            }
            BinaryPrimitives.WriteUInt16BigEndian(l4[checksumAt..], 0);
            ulong acc = InternetChecksum.PseudoHeader(segment, protocol, l4.Length);
            ushort checksum = InternetChecksum.Complete(InternetChecksum.Add(acc, l4));
            if (checksum == 0 && protocol == IpHeaders.ProtocolUdp)
            {
                checksum = 0xFFFF; // RFC 768: a computed zero is sent as all ones
            }
            BinaryPrimitives.WriteUInt16BigEndian(l4[checksumAt..], checksum);
            output.SetPacket(first + i, 0, segmentLength);
        }
        return segments;
    }

    /// <summary>
    /// Completes a CHECKSUM_PARTIAL checksum in place: the field at csumStart + csumOffset holds the
    /// folded pseudo-header sum; the final value is the complement of that plus the sum of everything
    /// from csumStart to the end (with the field itself zeroed), as skb_checksum_help computes it,
    /// including its rule that a zero result is written as 0xFFFF.
    /// </summary>
    public static bool CompleteChecksum(Span<byte> packet, int csumStart, int csumOffset)
    {
        int at = csumStart + csumOffset;
        if (csumStart >= packet.Length || at + 2 > packet.Length)
        {
            return false;
        }
        ushort partial = BinaryPrimitives.ReadUInt16BigEndian(packet[at..]);
        BinaryPrimitives.WriteUInt16BigEndian(packet[at..], 0);
        ushort checksum = InternetChecksum.Complete(InternetChecksum.Add(InternetChecksum.AddWord(0, partial), packet[csumStart..]));
        BinaryPrimitives.WriteUInt16BigEndian(packet[at..], checksum == 0 ? (ushort)0xFFFF : checksum);
        return true;
    }

    private static int CopySingle(in VirtioNetHeader header, ReadOnlySpan<byte> packet, PacketBatch output, int first)
    {
        if (packet.Length == 0 || packet.Length > output.SlotCapacity)
        {
            return -1;
        }
        Span<byte> slot = output.Data(first)[..packet.Length];
        packet.CopyTo(slot);
        if ((header.Flags & VirtioNetHeader.FlagNeedsCsum) != 0 && !CompleteChecksum(slot, header.CsumStart, header.CsumOffset))
        {
            return -1;
        }
        output.SetPacket(first, 0, packet.Length);
        return 1;
    }

    /// <summary>Where the TCP/UDP header starts: csum_start when the kernel gave it (it accounts for
    /// IPv6 extension headers), checked against the IP header.</summary>
    private static int TransportOffset(in VirtioNetHeader header, ReadOnlySpan<byte> packet, int version, byte protocol)
    {
        int ipHeaderLength;
        if (version == 4)
        {
            ipHeaderLength = (packet[0] & 0xF) * 4;
            if (ipHeaderLength < IpHeaders.Ipv4MinHeaderLength || packet.Length < ipHeaderLength || packet[IpHeaders.Ipv4Protocol] != protocol)
            {
                return -1;
            }
        }
        else
        {
            ipHeaderLength = IpHeaders.Ipv6HeaderLength;
            if (packet.Length < ipHeaderLength)
            {
                return -1;
            }
        }
        if ((header.Flags & VirtioNetHeader.FlagNeedsCsum) == 0)
        {
            // No csum_start: only a bare IPv6 header (no extension headers) can be located safely.
            return version == 4 || packet[IpHeaders.Ipv6NextHeader] == protocol ? ipHeaderLength : -1;
        }
        int start = header.CsumStart;
        if (version == 4 ? start != ipHeaderLength : start < ipHeaderLength)
        {
            return -1;
        }
        return start;
    }
}
