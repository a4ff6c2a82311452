using System.Buffers.Binary;
using System.Net;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>One IPv4 UDP datagram read from a capture: when, who to whom, and the UDP payload.</summary>
internal sealed record CapturedUdp(DateTimeOffset Time, IPEndPoint Source, IPEndPoint Destination, byte[] Payload)
{
    public override string ToString() => $"{Time:HH:mm:ss.ffffff} {Source} -> {Destination} {Payload.Length} B";
}

/// <summary>
/// Minimal reader for classic libpcap files (the format tcpdump -w writes): a 24-byte global header
/// whose magic gives the byte order and timestamp resolution (µs a1b2c3d4, ns a1b23c4d) and whose last
/// field is the link type, then per packet a 16-byte record header (ts_sec, ts_frac, incl_len,
/// orig_len) and incl_len bytes (https://www.tcpdump.org/manpages/pcap-savefile.5.html). Only IPv4/UDP
/// is decoded; everything else (ARP, IPv6, fragments, truncated records) is skipped.
/// </summary>
internal static class PcapFile
{
    private const int LinkTypeEthernet = 1;
    private const int LinkTypeRaw = 101;
    private const int LinkTypeLinuxSll = 113;
    private const int LinkTypeLinuxSll2 = 276;

    public static List<CapturedUdp> ReadUdp(string path) => ParseUdp(File.ReadAllBytes(path));

    public static List<CapturedUdp> ParseUdp(ReadOnlySpan<byte> file)
    {
        if (file.Length < 24)
        {
            throw new FormatException($"pcap file too short for the global header ({file.Length} B)");
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        bool bigEndian;
        bool nanoseconds;
        switch (magic)
        {
            case 0xa1b2c3d4: bigEndian = false; nanoseconds = false; break;
            case 0xa1b23c4d: bigEndian = false; nanoseconds = true; break;
            case 0xd4c3b2a1: bigEndian = true; nanoseconds = false; break;
            case 0x4d3cb2a1: bigEndian = true; nanoseconds = true; break;
            default: throw new FormatException($"not a pcap file (magic 0x{magic:x8})");
        }
        int linkType = (int)(Read32(file[20..], bigEndian) & 0x0FFFFFFF);
        int linkHeader = linkType switch
        {
            LinkTypeEthernet => 14,
            LinkTypeRaw => 0,
            LinkTypeLinuxSll => 16,
            LinkTypeLinuxSll2 => 20,
            _ => throw new FormatException($"unsupported pcap link type {linkType}"),
        };
        var datagrams = new List<CapturedUdp>();
        int offset = 24;
        while (offset + 16 <= file.Length)
        {
            ReadOnlySpan<byte> record = file.Slice(offset, 16);
            long seconds = Read32(record, bigEndian);
            long fraction = Read32(record[4..], bigEndian);
            int included = (int)Read32(record[8..], bigEndian);
            offset += 16;
            if (included < 0 || offset + included > file.Length)
            {
                break; // The writer was stopped mid-record.
            }
            ReadOnlySpan<byte> frame = file.Slice(offset, included);
            offset += included;
            if (frame.Length < linkHeader || !IsIPv4(frame, linkType))
            {
                continue;
            }
            DateTimeOffset time = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds ? fraction / 100 : fraction * 10);
            if (TryParseUdp(frame[linkHeader..], time) is CapturedUdp udp)
            {
                datagrams.Add(udp);
            }
        }
        return datagrams;
    }

    /// <summary>The frame's protocol field says IPv4 (Ethernet ethertype at 12, SLL at 14, SLL2 at 0).</summary>
    private static bool IsIPv4(ReadOnlySpan<byte> frame, int linkType) => linkType switch
    {
        LinkTypeEthernet => BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x0800,
        LinkTypeLinuxSll => BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) == 0x0800,
        LinkTypeLinuxSll2 => BinaryPrimitives.ReadUInt16BigEndian(frame) == 0x0800,
        _ => frame.Length > 0 && frame[0] >> 4 == 4,
    };

    /// <summary>IPv4 header (RFC 791: IHL in 32-bit words, protocol at 9, addresses at 12/16; only
    /// unfragmented packets), then the UDP header (RFC 768: ports, length including the 8-byte header).</summary>
    private static CapturedUdp? TryParseUdp(ReadOnlySpan<byte> ip, DateTimeOffset time)
    {
        if (ip.Length < 20 || ip[0] >> 4 != 4 || ip[9] != 17)
        {
            return null;
        }
        int ihl = (ip[0] & 0x0F) * 4;
        ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        if ((fragment & 0x3FFF) != 0 || ip.Length < ihl + 8)
        {
            return null; // A fragment (MF set or an offset): its payload is not a whole datagram.
        }
        ReadOnlySpan<byte> udp = ip[ihl..];
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        if (udpLength < 8 || udpLength > udp.Length)
        {
            return null; // Truncated by the snap length.
        }
        var source = new IPEndPoint(new IPAddress(ip.Slice(12, 4)), BinaryPrimitives.ReadUInt16BigEndian(udp));
        var destination = new IPEndPoint(new IPAddress(ip.Slice(16, 4)), BinaryPrimitives.ReadUInt16BigEndian(udp[2..]));
        return new CapturedUdp(time, source, destination, udp[8..udpLength].ToArray());
    }

    private static uint Read32(ReadOnlySpan<byte> b, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}
