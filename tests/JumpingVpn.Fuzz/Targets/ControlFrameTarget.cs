using System.Buffers.Binary;
using JumpingVpn.Control.Frames;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// Decrypted transport plaintext into the control-frame layer (docs/protocol.md §2-§3):
/// <see cref="ControlFrame.Classify"/>, <see cref="ControlFrame.TryReadHeader"/> and every frame's
/// TryParse, each on the whole input as the session layer calls them. Bad input must come back as
/// false. A frame that parses must also survive its own encoding: Write, parse again, Write again gives
/// the same bytes (one frame, one spelling), or the harness throws.
/// </summary>
internal static class ControlFrameTarget
{
    private delegate bool Parser<T>(ReadOnlySpan<byte> plaintext, out T frame);

    private delegate int Writer<T>(in T frame, Span<byte> destination);

    public static void Run(ReadOnlySpan<byte> data)
    {
        _ = ControlFrame.Classify(data);
        _ = ControlFrame.TryReadHeader(data, out _, out _);
        RoundTrip<HelloFrame>(data, HelloFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<HelloAckFrame>(data, HelloAckFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<KeepaliveFrame>(data, KeepaliveFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<KeepaliveAckFrame>(data, KeepaliveAckFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<PathProbeFrame>(data, PathProbeFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<PathProbeAckFrame>(data, PathProbeAckFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<ReattachRequestFrame>(data, ReattachRequestFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<ReattachAckFrame>(data, ReattachAckFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<ReattachRejectFrame>(data, ReattachRejectFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<RebindHintFrame>(data, RebindHintFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<TerminateFrame>(data, TerminateFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<TerminateAckFrame>(data, TerminateAckFrame.TryParse, static (in f, d) => f.Write(d));
        RoundTrip<SessionMoveFrame>(data, SessionMoveFrame.TryParse, static (in f, d) => f.Write(d));
    }

    private static void RoundTrip<T>(ReadOnlySpan<byte> data, Parser<T> parse, Writer<T> write)
    {
        if (!parse(data, out T frame))
        {
            return;
        }
        // A path probe may carry up to a whole datagram of zero padding.
        byte[] first = new byte[Math.Max(data.Length, 256)];
        int n = write(frame, first);
        if (!parse(first.AsSpan(0, n), out T again))
        {
            throw new InvalidOperationException($"{typeof(T).Name} parsed from the input, but its own encoding does not parse");
        }
        byte[] second = new byte[first.Length];
        int m = write(again, second);
        if (!first.AsSpan(0, n).SequenceEqual(second.AsSpan(0, m)))
        {
            throw new InvalidOperationException($"{typeof(T).Name} encodes differently after a parse of its own encoding");
        }
    }

    /// <summary>One envelope per frame type with a zero body (version 1 where the body has one), plus a
    /// padded path probe.</summary>
    public static IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        (ControlFrameType Type, int BodySize)[] frames =
        [
            (ControlFrameType.Hello, HelloFrame.BodySize),
            (ControlFrameType.HelloAck, HelloAckFrame.BodySize),
            (ControlFrameType.Keepalive, KeepaliveFrame.BodySize),
            (ControlFrameType.KeepaliveAck, KeepaliveAckFrame.BodySize),
            (ControlFrameType.PathProbe, PathProbeFrame.BodySize),
            (ControlFrameType.PathProbeAck, PathProbeAckFrame.BodySize),
            (ControlFrameType.ReattachRequest, ReattachRequestFrame.BodySize),
            (ControlFrameType.ReattachAck, ReattachAckFrame.BodySize),
            (ControlFrameType.ReattachReject, ReattachRejectFrame.BodySize),
            (ControlFrameType.RebindHint, RebindHintFrame.BodySize),
            (ControlFrameType.Terminate, TerminateFrame.BodySize),
            (ControlFrameType.TerminateAck, TerminateAckFrame.BodySize),
            (ControlFrameType.SessionMove, SessionMoveFrame.BodySize),
        ];
        foreach ((ControlFrameType type, int bodySize) in frames)
        {
            byte[] frame = new byte[(ControlFrame.HeaderSize + bodySize + 15) & ~15];
            frame[1] = (byte)type;
            BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(2), (ushort)bodySize);
            if (type is ControlFrameType.Hello or ControlFrameType.HelloAck)
            {
                frame[ControlFrame.HeaderSize] = 1;
            }
            yield return (type.ToString(), frame);
        }
        var padded = new PathProbeFrame(7, 3, 1_000, PaddingLength: 100);
        byte[] probe = new byte[padded.Size];
        padded.Write(probe);
        yield return ("PathProbe-padded", probe);
    }
}
