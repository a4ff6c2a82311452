using JumpingVpn.Control.Sessions;
using static JumpingVpn.Control.Frames.ControlFrame;

namespace JumpingVpn.Control.Frames;

/// <summary>
/// REATTACH_REQUEST (C->S on the new path, docs/protocol.md §3.5): move the binding to the address this
/// frame arrived from (the observed source, never a claimed one: docs/session-spec.md §2.3).
/// </summary>
public readonly record struct ReattachRequestFrame(SessionId SessionId, ulong CtrlSeq, ulong LastAckedVersion, ReasonCode SwitchReason, uint PathId, ulong TimestampMs)
{
    public const int BodySize = 48;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out ReattachRequestFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.ReattachRequest, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        var id = SessionId.Read(b[..SessionId.Size]);
        if (id.IsNone)
        {
            return false;
        }
        frame = new ReattachRequestFrame(id, U64(b, 16), U64(b, 24), (ReasonCode)U16(b, 32), U32(b, 36), U64(b, 40));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.ReattachRequest, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, CtrlSeq);
        U64(b, 24, LastAckedVersion);
        U16(b, 32, (ushort)SwitchReason);
        U32(b, 36, PathId);
        U64(b, 40, TimestampMs);
        return Size;
    }
}

/// <summary>REATTACH_ACK (S->C): the binding moved; the client adopts <see cref="NewStateVersion"/>.</summary>
public readonly record struct ReattachAckFrame(SessionId SessionId, ulong EchoedCtrlSeq, ulong NewStateVersion, ulong BoundAtVersion, ReasonCode Reason)
{
    public const int BodySize = 44;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out ReattachAckFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.ReattachAck, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        var id = SessionId.Read(b[..SessionId.Size]);
        if (id.IsNone)
        {
            return false;
        }
        frame = new ReattachAckFrame(id, U64(b, 16), U64(b, 24), U64(b, 32), (ReasonCode)U16(b, 40));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.ReattachAck, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, EchoedCtrlSeq);
        U64(b, 24, NewStateVersion);
        U64(b, 32, BoundAtVersion);
        U16(b, 40, (ushort)Reason);
        return Size;
    }
}

/// <summary>
/// REATTACH_REJECT (S->C): reason, when to retry, and the server's current state_version (so a client
/// with a stale version learns the right one: docs/session-spec.md §1.7).
/// </summary>
public readonly record struct ReattachRejectFrame(SessionId SessionId, ulong EchoedCtrlSeq, ulong CurrentStateVersion, ReasonCode Reason, uint RetryAfterMs)
{
    public const int BodySize = 40;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out ReattachRejectFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.ReattachReject, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        var id = SessionId.Read(b[..SessionId.Size]);
        if (id.IsNone)
        {
            return false;
        }
        frame = new ReattachRejectFrame(id, U64(b, 16), U64(b, 24), (ReasonCode)U16(b, 32), U32(b, 36));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.ReattachReject, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, EchoedCtrlSeq);
        U64(b, 24, CurrentStateVersion);
        U16(b, 32, (ushort)Reason);
        U32(b, 36, RetryAfterMs);
        return Size;
    }
}

/// <summary>
/// REBIND_HINT (S->C, to an unbound address): authenticated traffic arrived from an address that is not
/// the binding (NAT rebinding); the client should send REATTACH_REQUEST from there.
/// </summary>
public readonly record struct RebindHintFrame(SessionId SessionId, ulong StateVersion)
{
    public const int BodySize = 24;
    public const int Size = HeaderSize + BodySize;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out RebindHintFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.RebindHint, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        var id = SessionId.Read(b[..SessionId.Size]);
        if (id.IsNone)
        {
            return false;
        }
        frame = new RebindHintFrame(id, U64(b, 16));
        return true;
    }

    public int Write(Span<byte> destination)
    {
        Span<byte> b = WriteHeader(destination, ControlFrameType.RebindHint, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, StateVersion);
        return Size;
    }
}
