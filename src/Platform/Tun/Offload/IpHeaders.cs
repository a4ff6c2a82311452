using System.Buffers.Binary;

namespace JumpingVpn.Platform.Tun.Offload;

/// <summary>Field offsets of the IPv4 (RFC 791 §3.1), IPv6 (RFC 8200 §3), TCP (RFC 9293 §3.1) and
/// UDP (RFC 768) headers that segmentation and coalescing rewrite.</summary>
internal static class IpHeaders
{
    public const byte ProtocolTcp = 6;
    public const byte ProtocolUdp = 17;

    public const int Ipv4MinHeaderLength = 20;
    public const int Ipv4TotalLength = 2;
    public const int Ipv4Id = 4;
    public const int Ipv4FlagsFragment = 6;

    /// <summary>The DF bit in the byte at <see cref="Ipv4FlagsFragment"/>.</summary>
    public const byte Ipv4DontFragment = 0x40;
    public const int Ipv4Ttl = 8;
    public const int Ipv4Protocol = 9;
    public const int Ipv4Checksum = 10;

    public const int Ipv6HeaderLength = 40;
    public const int Ipv6PayloadLength = 4;
    public const int Ipv6NextHeader = 6;
    public const int Ipv6HopLimit = 7;

    public const int TcpMinHeaderLength = 20;
    public const int TcpSeq = 4;
    public const int TcpAck = 8;
    public const int TcpDataOffset = 12;
    public const int TcpFlags = 13;
    public const int TcpWindow = 14;
    public const int TcpChecksum = 16;

    public const byte TcpFin = 0x01;
    public const byte TcpSyn = 0x02;
    public const byte TcpRst = 0x04;
    public const byte TcpPsh = 0x08;
    public const byte TcpAckFlag = 0x10;
    public const byte TcpUrg = 0x20;
    public const byte TcpEce = 0x40;
    public const byte TcpCwr = 0x80;

    public const int UdpHeaderLength = 8;
    public const int UdpLength = 4;
    public const int UdpChecksum = 6;

    /// <summary>Recomputes the IPv4 header checksum in place (RFC 791 §3.1).</summary>
    public static void FixIpv4Checksum(Span<byte> header)
    {
        BinaryPrimitives.WriteUInt16BigEndian(header[Ipv4Checksum..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(header[Ipv4Checksum..], InternetChecksum.Compute(header));
    }
}
