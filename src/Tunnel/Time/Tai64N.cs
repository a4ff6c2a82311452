using System.Buffers.Binary;

namespace JumpingVpn.Tunnel.Time;

/// <summary>
/// A TAI64N label (https://cr.yp.to/libtai/tai64.html): 8 bytes big-endian seconds offset by 2^62, then
/// 4 bytes big-endian nanoseconds. WireGuard puts one in every handshake initiation (whitepaper §5.4.2)
/// and a responder drops an initiation whose timestamp is not <see cref="After"/> the last accepted one
/// from that peer, which stops replayed initiations.
/// </summary>
/// <remarks>
/// Like wireguard-go (tai64n.go) and the kernel, the label is built from Unix time plus 10 seconds
/// (0x400000000000000A: the TAI-UTC offset of 1972, leap seconds since ignored) - only the ordering matters.
/// Fields hold exactly what was read from the wire, so comparison is the byte-wise comparison the spec
/// implies even for a peer that sends nanoseconds &gt;= 10^9.
/// </remarks>
public readonly struct Tai64N : IComparable<Tai64N>, IEquatable<Tai64N>
{
    public const int Size = 12;

    private const ulong Base = 0x400000000000000AUL;
    private const long NanosecondsPerSecond = 1_000_000_000;

    // Nanoseconds are rounded down to a multiple of 2^24 (~16.8 ms) so the timestamp does not leak the
    // fine-grained clock of the initiator (wireguard-go whitenerMask; kernel noise.c tai64n_now rounds to the
    // power of two below 1 s / INITIATIONS_PER_SECOND, i.e. the same 2^24 ns).
    private const uint WhitenerMask = (1u << 24) - 1;

    public Tai64N(ulong seconds, uint nanoseconds)
    {
        Seconds = seconds;
        Nanoseconds = nanoseconds;
    }

    /// <summary>TAI64 seconds (2^62 + 10 + Unix seconds for labels made here).</summary>
    public ulong Seconds { get; }

    public uint Nanoseconds { get; }

    /// <summary>The whitened label for a Unix time in nanoseconds (may be negative: before 1970).</summary>
    public static Tai64N FromUnixNanoseconds(long unixNs)
    {
        long seconds = Math.DivRem(unixNs, NanosecondsPerSecond, out long nanos);
        if (nanos < 0)
        {
            seconds--; // floor division, so nanoseconds stay in [0, 10^9)
            nanos += NanosecondsPerSecond;
        }
        return new Tai64N(unchecked((ulong)((long)Base + seconds)), (uint)nanos & ~WhitenerMask);
    }

    /// <summary>Writes the 12-byte big-endian label.</summary>
    public void WriteTo(Span<byte> dest)
    {
        if (dest.Length < Size)
        {
            throw new ArgumentException($"need {Size} bytes", nameof(dest));
        }
        BinaryPrimitives.WriteUInt64BigEndian(dest, Seconds);
        BinaryPrimitives.WriteUInt32BigEndian(dest[8..], Nanoseconds);
    }

    /// <summary>Reads a 12-byte big-endian label (e.g. a decrypted handshake initiation timestamp).</summary>
    public static Tai64N Read(ReadOnlySpan<byte> src)
    {
        if (src.Length < Size)
        {
            throw new ArgumentException($"need {Size} bytes", nameof(src));
        }
        return new Tai64N(BinaryPrimitives.ReadUInt64BigEndian(src), BinaryPrimitives.ReadUInt32BigEndian(src[8..]));
    }

    /// <summary>True when this label is strictly later than <paramref name="other"/> (wireguard-go Timestamp.After).</summary>
    public bool After(Tai64N other) => CompareTo(other) > 0;

    public int CompareTo(Tai64N other) =>
        Seconds != other.Seconds ? Seconds.CompareTo(other.Seconds) : Nanoseconds.CompareTo(other.Nanoseconds);

    public bool Equals(Tai64N other) => Seconds == other.Seconds && Nanoseconds == other.Nanoseconds;

    public override bool Equals(object? obj) => obj is Tai64N other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Seconds, Nanoseconds);

    public override string ToString() => $"@{Seconds:x16}{Nanoseconds:x8}";

    public static bool operator ==(Tai64N left, Tai64N right) => left.Equals(right);
    public static bool operator !=(Tai64N left, Tai64N right) => !left.Equals(right);
    public static bool operator <(Tai64N left, Tai64N right) => left.CompareTo(right) < 0;
    public static bool operator >(Tai64N left, Tai64N right) => left.CompareTo(right) > 0;
    public static bool operator <=(Tai64N left, Tai64N right) => left.CompareTo(right) <= 0;
    public static bool operator >=(Tai64N left, Tai64N right) => left.CompareTo(right) >= 0;
}
