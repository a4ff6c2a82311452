using System.Buffers.Binary;

namespace JumpingVpn.Tunnel.Routing;

/// <summary>
/// Allocation-free reads of the few IP header fields the data plane needs: the destination picks the
/// peer for an outgoing packet, the source is checked against the sending peer's allowed IPs, and the
/// length field strips the zero padding WireGuard adds before encryption (whitepaper §5.4.6; kernel
/// receive.c reads tot_len / payload_len the same way). Any malformed header yields false, never throws.
/// </summary>
public static class IpPacket
{
    private const int V4MinHeader = 20; // RFC 791 §3.1: IHL >= 5 words
    private const int V6Header = 40;    // RFC 8200 §3: fixed header

    /// <summary>
    /// The IP version nibble of the first byte: 4 or 6, or 0 for anything else (including an empty
    /// span, which is a WireGuard keepalive). Does not validate the header; the TryGet methods do.
    /// </summary>
    public static int Version(ReadOnlySpan<byte> packet)
    {
        if (packet.IsEmpty)
        {
            return 0;
        }
        int version = packet[0] >> 4;
        return version is 4 or 6 ? version : 0;
    }

    /// <summary>The destination address (4 or 16 bytes, a slice of <paramref name="packet"/>).</summary>
    public static bool TryGetDestination(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> address) =>
        TryGetAddress(packet, v4Offset: 16, v6Offset: 24, out address);

    /// <summary>The source address (4 or 16 bytes, a slice of <paramref name="packet"/>).</summary>
    public static bool TryGetSource(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> address) =>
        TryGetAddress(packet, v4Offset: 12, v6Offset: 8, out address);

    /// <summary>
    /// The length the header claims for the whole packet: IPv4 Total Length (RFC 791 §3.1), or IPv6
    /// Payload Length + 40 (RFC 8200 §3). False when the header is invalid, the claimed length is shorter
    /// than the header or longer than <paramref name="packet"/> (a dishonest size, as the kernel calls it).
    /// IPv6 jumbograms (payload length 0, RFC 2675) are not supported: they report just the header.
    /// </summary>
    public static bool TryGetTotalLength(ReadOnlySpan<byte> packet, out int length)
    {
        length = 0;
        int claimed;
        switch (Version(packet))
        {
            case 4:
                if (!TryGetV4HeaderLength(packet, out int headerLength))
                {
                    return false;
                }
                claimed = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
                if (claimed < headerLength)
                {
                    return false;
                }
                break;
            case 6:
                if (packet.Length < V6Header)
                {
                    return false;
                }
                claimed = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) + V6Header;
                break;
            default:
                return false;
        }
        if (claimed > packet.Length)
        {
            return false;
        }
        length = claimed;
        return true;
    }

    private static bool TryGetAddress(ReadOnlySpan<byte> packet, int v4Offset, int v6Offset, out ReadOnlySpan<byte> address)
    {
        switch (Version(packet))
        {
            case 4 when TryGetV4HeaderLength(packet, out _):
                address = packet.Slice(v4Offset, 4);
                return true;
            case 6 when packet.Length >= V6Header:
                address = packet.Slice(v6Offset, 16);
                return true;
            default:
                address = default;
                return false;
        }
    }

    // IHL counts 32-bit words; below 5 the header is malformed, and options must fit in the span.
    private static bool TryGetV4HeaderLength(ReadOnlySpan<byte> packet, out int headerLength)
    {
        headerLength = (packet[0] & 0x0F) * 4;
        return headerLength >= V4MinHeader && packet.Length >= headerLength;
    }
}
