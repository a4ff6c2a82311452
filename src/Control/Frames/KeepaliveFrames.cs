using static JumpingVpn.Control.Frames.ControlFrame;

namespace JumpingVpn.Control.Frames;

/// <summary>
/// KEEPALIVE (both directions, docs/protocol.md §3.3): liveness and RTT on the active path, sent only when
/// idle. Non-mutating: never changes state_version.
/// </summary>
public readonly record struct KeepaliveFrame(ulong CtrlSeq, ulong SendTimestampMs, ulong EchoTimestampMs, ulong StateVersion)
{
    public const int BodySize = 32;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out KeepaliveFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.Keepalive, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        frame = new KeepaliveFrame(U64(b, 0), U64(b, 8), U64(b, 16), U64(b, 24));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.Keepalive, BodySize);
        U64(b, 0, CtrlSeq);
        U64(b, 8, SendTimestampMs);
        U64(b, 16, EchoTimestampMs);
        U64(b, 24, StateVersion);
        return Size;
    }
}

/// <summary>KEEPALIVE_ACK: echoes the keepalive's ctrl_seq and send timestamp, carries the current state_version.</summary>
public readonly record struct KeepaliveAckFrame(ulong EchoedCtrlSeq, ulong SendTimestampMs, ulong EchoTimestampMs, ulong StateVersion)
{
    public const int BodySize = 32;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out KeepaliveAckFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.KeepaliveAck, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        frame = new KeepaliveAckFrame(U64(b, 0), U64(b, 8), U64(b, 16), U64(b, 24));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.KeepaliveAck, BodySize);
        U64(b, 0, EchoedCtrlSeq);
        U64(b, 8, SendTimestampMs);
        U64(b, 16, EchoTimestampMs);
        U64(b, 24, StateVersion);
        return Size;
    }
}
