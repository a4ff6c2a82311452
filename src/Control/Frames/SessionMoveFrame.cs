using System.Net;
using JumpingVpn.Control.Sessions;
using static JumpingVpn.Control.Frames.ControlFrame;

namespace JumpingVpn.Control.Frames;

/// <summary>
/// SESSION_MOVE (S->C, docs/protocol.md §3.7): the node that owns the session asks the client to continue it on
/// another node of the cluster, now (docs/cluster.md "Drain"). The target is a hint: the client goes there only if
/// it is one of its own configured cluster endpoints, so a server cannot point clients at arbitrary addresses.
/// Family 0 names no target ("any other node you know"); family 4 or 6 names one with a non-zero port.
/// </summary>
public readonly record struct SessionMoveFrame(SessionId SessionId, ulong StateVersion, ReasonCode Reason, IPEndPoint? Target)
{
    public const int BodySize = 48;
    public const int Size = HeaderSize + BodySize;

    private const int FamilyOffset = 26;
    private const int PortOffset = 28;
    private const int AddressOffset = 32;

    public static bool TryParse(ReadOnlySpan<byte> plaintext, out SessionMoveFrame frame)
    {
        frame = default;
        if (!TryGetBody(plaintext, ControlFrameType.SessionMove, BodySize, extensible: false, out ReadOnlySpan<byte> b))
        {
            return false;
        }
        var id = SessionId.Read(b[..SessionId.Size]);
        if (id.IsNone)
        {
            return false;
        }
        ushort port = U16(b, PortOffset);
        ReadOnlySpan<byte> address = b[AddressOffset..];
        IPEndPoint? target;
        switch (b[FamilyOffset])
        {
            case 0 when port == 0 && !address.ContainsAnyExcept((byte)0):
                target = null;
                break;
            case 4 when port != 0 && !address[4..].ContainsAnyExcept((byte)0):
                target = new IPEndPoint(new IPAddress(address[..4]), port);
                break;
            case 6 when port != 0:
                target = new IPEndPoint(new IPAddress(address), port);
                break;
            default:
                return false; // unknown family, a family without a port, or bytes where none belong
        }
        frame = new SessionMoveFrame(id, U64(b, 16), (ReasonCode)U16(b, 24), target);
        return true;
    }

    public int Write(Span<byte> destination)
    {
        if (Target is { } t && (t.Port == 0 || t.AddressFamily is not (System.Net.Sockets.AddressFamily.InterNetwork or System.Net.Sockets.AddressFamily.InterNetworkV6)))
        {
            throw new InvalidOperationException($"SESSION_MOVE target {t} needs an IPv4 or IPv6 address and a non-zero port");
        }
        Span<byte> b = WriteHeader(destination, ControlFrameType.SessionMove, BodySize);
        SessionId.Write(b[..SessionId.Size]);
        U64(b, 16, StateVersion);
        U16(b, 24, (ushort)Reason);
        if (Target is { } target)
        {
            // An IPv4-mapped IPv6 address travels as IPv4: one spelling per address.
            IPAddress a = target.Address.IsIPv4MappedToIPv6 ? target.Address.MapToIPv4() : target.Address;
            bool v4 = a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
            b[FamilyOffset] = v4 ? (byte)4 : (byte)6;
            U16(b, PortOffset, (ushort)target.Port);
            _ = a.TryWriteBytes(b[AddressOffset..], out _);
        }
        return Size;
    }
}
