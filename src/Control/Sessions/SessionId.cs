using System.Buffers.Binary;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// 128-bit random session id (docs/session-spec.md I1: never reused; the upstream PoC's 64-bit ids are too short
/// to be unguessable). On the wire it is 16 bytes copied as-is; <see cref="ToString"/> prints those bytes
/// as 32 lowercase hex digits. All zero means "no session" (HELLO of a fresh client).
/// </summary>
public readonly struct SessionId : IEquatable<SessionId>
{
    public const int Size = 16;

    private readonly ulong _lo;
    private readonly ulong _hi;

    private SessionId(ulong lo, ulong hi)
    {
        _lo = lo;
        _hi = hi;
    }

    public static SessionId None => default;

    public bool IsNone => _lo == 0 && _hi == 0;

    /// <summary>Reads 16 bytes; randomness comes from the caller (the core never draws it itself).</summary>
    public static SessionId Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(source), BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, _lo);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _hi);
    }

    public static bool TryParse(string? hex, out SessionId id)
    {
        id = default;
        if (hex is null || hex.Length != 2 * Size)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[Size];
        try
        {
            if (Convert.FromHexString(hex, bytes, out _, out int written) != System.Buffers.OperationStatus.Done || written != Size)
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false;
        }
        id = Read(bytes);
        return true;
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        Write(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    public bool Equals(SessionId other) => _lo == other._lo && _hi == other._hi;

    public override bool Equals(object? obj) => obj is SessionId other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_lo, _hi);

    public static bool operator ==(SessionId left, SessionId right) => left.Equals(right);

    public static bool operator !=(SessionId left, SessionId right) => !left.Equals(right);
}
