using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace JumpingVpn.Platform.Tun.Offload;

/// <summary>
/// The Internet checksum (RFC 1071) with the TCP/UDP pseudo-headers (RFC 9293 §3.1, RFC 768,
/// RFC 8200 §8.1). The one's-complement sum is byte-order independent (RFC 1071 §2(B)), so the
/// running sum is kept over little-endian 32-bit words read 8 bytes at a time into a 64-bit
/// accumulator (no carry handling needed below 2^32 words, i.e. for any IP packet) and swapped to
/// network order once, when folded.
/// Usage: acc = PseudoHeaderV4(...); acc = Add(acc, segment); checksum = Complete(acc).
/// </summary>
internal static class InternetChecksum
{
    /// <summary>Adds <paramref name="data"/> to the running sum. Every span but the last must have
    /// even length (an odd final byte is padded with zero, RFC 1071 §4.1).</summary>
    public static ulong Add(ulong acc, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        if (BitConverter.IsLittleEndian && length >= 64)
        {
            acc += AddVectors(ref p, length, out i);
        }
        ulong a0 = acc, a1 = 0, a2 = 0, a3 = 0;
        // Four independent accumulators let the adds overlap in the pipeline.
        for (; i + 32 <= length; i += 32)
        {
            ulong x0 = LoadLe64(ref p, i);
            ulong x1 = LoadLe64(ref p, i + 8);
            ulong x2 = LoadLe64(ref p, i + 16);
            ulong x3 = LoadLe64(ref p, i + 24);
            a0 += (x0 & 0xFFFFFFFF) + (x0 >> 32);
            a1 += (x1 & 0xFFFFFFFF) + (x1 >> 32);
            a2 += (x2 & 0xFFFFFFFF) + (x2 >> 32);
            a3 += (x3 & 0xFFFFFFFF) + (x3 >> 32);
        }
        for (; i + 8 <= length; i += 8)
        {
            ulong x = LoadLe64(ref p, i);
            a0 += (x & 0xFFFFFFFF) + (x >> 32);
        }
        if (i + 4 <= length)
        {
            uint x = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, i));
            a0 += BitConverter.IsLittleEndian ? x : BinaryPrimitives.ReverseEndianness(x);
            i += 4;
        }
        if (i + 2 <= length)
        {
            // Little-endian view of the word: the first byte is the low byte.
            a0 += (uint)(Unsafe.Add(ref p, i) | (Unsafe.Add(ref p, i + 1) << 8));
            i += 2;
        }
        if (i < length)
        {
            a0 += Unsafe.Add(ref p, i); // network word (b, 0) seen little-endian
        }
        return a0 + a1 + a2 + a3;
    }

    /// <summary>Adds one 16-bit word given in network (big-endian) value terms.</summary>
    public static ulong AddWord(ulong acc, ushort networkValue) => acc + BinaryPrimitives.ReverseEndianness(networkValue);

    /// <summary>Folds the running sum to 16 bits, returned as a network-order value (not complemented).</summary>
    public static ushort Fold(ulong acc)
    {
        acc = (acc & 0xFFFFFFFF) + (acc >> 32);
        acc = (acc & 0xFFFFFFFF) + (acc >> 32);
        acc = (acc & 0xFFFF) + (acc >> 16);
        acc = (acc & 0xFFFF) + (acc >> 16);
        return BinaryPrimitives.ReverseEndianness((ushort)acc);
    }

    /// <summary>The value to store in a checksum field: the complement of the folded sum.</summary>
    public static ushort Complete(ulong acc) => (ushort)~Fold(acc);

    /// <summary>Checksum of a contiguous region (e.g. an IPv4 header with its checksum field zeroed).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Complete(Add(0, data));

    /// <summary>IPv4 pseudo-header: source, destination, zero, protocol, L4 length.</summary>
    public static ulong PseudoHeaderV4(ReadOnlySpan<byte> ipv4Header, byte protocol, int l4Length)
    {
        ulong acc = Add(0, ipv4Header.Slice(12, 8));
        acc = AddWord(acc, protocol);
        return AddWord(acc, (ushort)l4Length);
    }

    /// <summary>IPv6 pseudo-header: source, destination, 32-bit upper-layer length, next header.</summary>
    public static ulong PseudoHeaderV6(ReadOnlySpan<byte> ipv6Header, byte protocol, int l4Length)
    {
        ulong acc = Add(0, ipv6Header.Slice(8, 32));
        acc = AddWord(acc, protocol);
        acc = AddWord(acc, (ushort)(l4Length >> 16));
        return AddWord(acc, (ushort)l4Length);
    }

    /// <summary>Pseudo-header for either IP version, chosen by the version nibble.</summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> ipHeader, byte protocol, int l4Length) =>
        (ipHeader[0] >> 4) == 4 ? PseudoHeaderV4(ipHeader, protocol, l4Length) : PseudoHeaderV6(ipHeader, protocol, l4Length);

    /// <summary>Largest number of vector steps summed into 32-bit lanes before they are widened: each step
    /// adds at most 2 x 0xFFFF to a lane, so 16384 steps stay below 2^32.</summary>
    private const int StepsPerBlock = 16384;

    /// <summary>
    /// Sums the longest prefix of whole vectors as little-endian 16-bit words (the same one's-complement sum
    /// as 32-bit words, since 2^16 is 1 modulo 0xFFFF), and returns how many bytes it consumed.
    /// </summary>
    private static ulong AddVectors(ref byte p, int length, out int consumed)
    {
        ulong sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            while (i + 64 <= length)
            {
                Vector512<uint> lanes = Vector512<uint>.Zero;
                int end = (int)Math.Min((long)length - 63, i + ((long)StepsPerBlock * 64));
                for (; i < end; i += 64)
                {
                    Vector512<uint> x = Vector512.LoadUnsafe(ref p, (nuint)i).AsUInt32();
                    lanes += (x & Vector512.Create(0xFFFFu)) + (x >> 16);
                }
                (Vector512<ulong> low, Vector512<ulong> high) = Vector512.Widen(lanes);
                sum += Vector512.Sum(low + high);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            while (i + 32 <= length)
            {
                Vector256<uint> lanes = Vector256<uint>.Zero;
                int end = (int)Math.Min((long)length - 31, i + ((long)StepsPerBlock * 32));
                for (; i < end; i += 32)
                {
                    Vector256<uint> x = Vector256.LoadUnsafe(ref p, (nuint)i).AsUInt32();
                    lanes += (x & Vector256.Create(0xFFFFu)) + (x >> 16);
                }
                (Vector256<ulong> low, Vector256<ulong> high) = Vector256.Widen(lanes);
                sum += Vector256.Sum(low + high);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            while (i + 16 <= length)
            {
                Vector128<uint> lanes = Vector128<uint>.Zero;
                int end = (int)Math.Min((long)length - 15, i + ((long)StepsPerBlock * 16));
                for (; i < end; i += 16)
                {
                    Vector128<uint> x = Vector128.LoadUnsafe(ref p, (nuint)i).AsUInt32();
                    lanes += (x & Vector128.Create(0xFFFFu)) + (x >> 16);
                }
                (Vector128<ulong> low, Vector128<ulong> high) = Vector128.Widen(lanes);
                sum += Vector128.Sum(low + high);
            }
        }
        consumed = i;
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong LoadLe64(ref byte p, int offset)
    {
        ulong x = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, offset));
        return BitConverter.IsLittleEndian ? x : BinaryPrimitives.ReverseEndianness(x);
    }
}
