using JumpingVpn.Control.Sessions;
using static JumpingVpn.Control.Frames.ControlFrame;

namespace JumpingVpn.Control.Frames;

/// <summary>TERMINATE (either direction, docs/protocol.md §3.6): explicit end with one reason code.</summary>
public readonly record struct TerminateFrame(SessionId SessionId, ulong CtrlSeq, ulong StateVersion, ReasonCode Reason)
{
    public const int BodySize = 36;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out TerminateFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.Terminate, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        // An all-zero session id is allowed here only: the server refusing a HELLO before any session
        // exists (SESSION_LIMIT_REACHED) has no id to name (docs/protocol.md, TERMINATE).
        var id = SessionId.Read(b[..SessionId.Size]);
        frame = new TerminateFrame(id, U64(b, 16), U64(b, 24), (ReasonCode)U16(b, 32));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.Terminate, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, CtrlSeq);
        U64(b, 24, StateVersion);
        U16(b, 32, (ushort)Reason);
        return Size;
    }
}

/// <summary>TERMINATE_ACK: echoes the ctrl_seq; carries the final state_version and the reason recorded.</summary>
public readonly record struct TerminateAckFrame(SessionId SessionId, ulong EchoedCtrlSeq, ulong FinalStateVersion, ReasonCode Reason)
{
    public const int BodySize = 36;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out TerminateAckFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.TerminateAck, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        var id = SessionId.Read(b[..SessionId.Size]);
        if (id.IsNone)
        {
            return false;
        }
        frame = new TerminateAckFrame(id, U64(b, 16), U64(b, 24), (ReasonCode)U16(b, 32));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.TerminateAck, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, EchoedCtrlSeq);
        U64(b, 24, FinalStateVersion);
        U16(b, 32, (ushort)Reason);
        return Size;
    }
}
