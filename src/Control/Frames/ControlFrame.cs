using System.Buffers.Binary;

namespace JumpingVpn.Control.Frames;

/// <summary>
/// The envelope shared by every control frame: `0x00 | type u8 | length u16 LE | body | zero padding`
/// (docs/protocol.md §2). Frames are the plaintext of WireGuard transport messages, so they arrive already
/// authenticated by the peer's keypair; these checks only make sure that a buggy or newer peer cannot make
/// the parser read out of bounds or accept two spellings of one frame.
/// </summary>
public static class ControlFrame
{
    /// <summary>First byte of every control frame; IP packets start with 0x4_ or 0x6_.</summary>
    public const byte Marker = 0x00;

    public const int HeaderSize = 4;

    /// <summary>The protocol version this build speaks (carried in HELLO / HELLO_ACK only).</summary>
    public const ushort ProtocolVersion = 1;

    /// <summary>Tells control frames from IP packets and keepalives by the first plaintext byte.</summary>
    public static PlaintextKind Classify(ReadOnlySpan<byte> plaintext)
    {
        if (plaintext.IsEmpty)
        {
            return PlaintextKind.Keepalive;
        }
        return (plaintext[0] >> 4) switch
        {
            0 when plaintext[0] == Marker => PlaintextKind.Control,
            4 => PlaintextKind.IPv4,
            6 => PlaintextKind.IPv6,
            _ => PlaintextKind.Invalid,
        };
    }

    /// <summary>
    /// Reads the envelope: marker, a known type, a length that fits, zero padding after the body. Does not
    /// check the body size for the type (the per-frame TryParse does).
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> plaintext, out ControlFrameType type, out ReadOnlySpan<byte> body)
    {
        type = default;
        body = default;
        if (plaintext.Length < HeaderSize || plaintext[0] != Marker)
        {
            return false;
        }
        byte t = plaintext[1];
        if (t is < (byte)ControlFrameType.Hello or > (byte)ControlFrameType.SessionMove)
        {
            return false;
        }
        int length = BinaryPrimitives.ReadUInt16LittleEndian(plaintext[2..]);
        if (length > plaintext.Length - HeaderSize)
        {
            return false;
        }
        // WireGuard pads the plaintext with zeros to a multiple of 16; anything else after the body would
        // give one frame two encodings (and would be a place to smuggle data), so it is refused.
        if (plaintext[(HeaderSize + length)..].ContainsAnyExcept((byte)0))
        {
            return false;
        }
        type = (ControlFrameType)t;
        body = plaintext.Slice(HeaderSize, length);
        return true;
    }

    /// <summary>
    /// Envelope plus the body-size rule of one type: exactly <paramref name="bodySize"/> bytes, or at least
    /// that many when <paramref name="extensible"/> (HELLO, whose tail later versions may extend; PATH_PROBE,
    /// whose tail is zero padding).
    /// </summary>
    internal static bool TryGetBody(ReadOnlySpan<byte> plaintext, ControlFrameType expected, int bodySize, bool extensible, out ReadOnlySpan<byte> body)
    {
        if (!TryReadHeader(plaintext, out ControlFrameType type, out body) || type != expected
            || body.Length < bodySize || (!extensible && body.Length != bodySize))
        {
            body = default;
            return false;
        }
        return true;
    }

    /// <summary>Writes the envelope and returns the body slice. A too-small buffer is a caller bug, so it throws.</summary>
    internal static Span<byte> WriteHeader(Span<byte> destination, ControlFrameType type, int bodySize)
    {
        if (destination.Length < HeaderSize + bodySize)
        {
            throw new ArgumentException($"{type} needs {HeaderSize + bodySize} bytes, the buffer has {destination.Length}", nameof(destination));
        }
        destination[0] = Marker;
        destination[1] = (byte)type;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)bodySize);
        Span<byte> body = destination.Slice(HeaderSize, bodySize);
        body.Clear();
        return body;
    }

    internal static ulong U64(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b[offset..]);

    internal static uint U32(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(b[offset..]);

    internal static ushort U16(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(b[offset..]);

    internal static void U64(Span<byte> b, int offset, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b[offset..], v);

    internal static void U32(Span<byte> b, int offset, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b[offset..], v);

    internal static void U16(Span<byte> b, int offset, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b[offset..], v);
}
