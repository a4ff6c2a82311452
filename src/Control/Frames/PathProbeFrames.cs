using static JumpingVpn.Control.Frames.ControlFrame;

namespace JumpingVpn.Control.Frames;

/// <summary>
/// PATH_PROBE (C->S on a candidate path, docs/protocol.md §3.4): measures a candidate, never binds. The
/// body may carry zero padding after its 24 fixed bytes (to probe a path MTU); the ACK is 24 bytes fixed,
/// so a reply is never larger than its probe (anti-amplification, docs/session-spec.md §2.3).
/// </summary>
public readonly record struct PathProbeFrame(ulong CtrlSeq, uint PathId, ulong SendTimestampMs, int PaddingLength = 0)
{
    public const int BodySize = 24;
    public const int MinSize = HeaderSize + BodySize;

    /// <summary>Encoded size including padding.</summary>
    public int Size => MinSize + PaddingLength;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out PathProbeFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.PathProbe, BodySize, extensible: true, out ReadOnlySpan<byte> b)
            || b[BodySize..].ContainsAnyExcept((byte)0))
        {
            return false;
        }
        frame = new PathProbeFrame(U64(b, 0), U32(b, 8), U64(b, 16), b.Length - BodySize);
        return true;
    }

    public int Write(Span<byte> destination)
    {
        if (PaddingLength < 0 || PaddingLength > ushort.MaxValue - BodySize)
        {
            throw new InvalidOperationException($"PATH_PROBE padding {PaddingLength} is out of range");
        }
        Span<byte> b = WriteHeader(destination, ControlFrameType.PathProbe, BodySize + PaddingLength);
        U64(b, 0, CtrlSeq);
        U32(b, 8, PathId);
        // b[12..16] reserved, zero; padding already cleared.
        U64(b, 16, SendTimestampMs);
        return Size;
    }
}

/// <summary>PATH_PROBE_ACK: echoes seq, path id and the probe's timestamp; 28 bytes, the smallest probe's size.</summary>
public readonly record struct PathProbeAckFrame(ulong EchoedCtrlSeq, uint PathId, ulong EchoTimestampMs)
{
    public const int BodySize = 24;
    public const int Size = HeaderSize + BodySize;

    public static PathProbeAckFrame For(in PathProbeFrame probe) => new(probe.CtrlSeq, probe.PathId, probe.SendTimestampMs);

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out PathProbeAckFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.PathProbeAck, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        frame = new PathProbeAckFrame(U64(b, 0), U32(b, 8), U64(b, 16));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.PathProbeAck, BodySize);
        U64(b, 0, EchoedCtrlSeq);
        U32(b, 8, PathId);
        U64(b, 16, EchoTimestampMs);
        return Size;
    }
}
