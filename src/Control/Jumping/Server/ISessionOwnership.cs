using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// Who may change a server session: this node alone (<see cref="SingleNodeOwnership"/>), or whichever node of a
/// cluster holds the session's lease in the shared store (<see cref="ClusterOwnership"/>, docs/design.md §6,
/// docs/session-spec.md §5.2.3). The server role asks it at the four points where that differs: applying an
/// input, admitting a frame, creating a session, and the sweep. A store-backed strategy may wait for the store in
/// <see cref="Apply"/>, <see cref="TryCreate"/> and in <see cref="Admit"/> of a HELLO or REATTACH_REQUEST, so the
/// server role calls those on its control workers, never on the receive thread; <see cref="Admit"/> of any other
/// frame and <see cref="Sweep"/> must not call the store (docs/threads.md "Control workers").
/// </summary>
internal interface ISessionOwnership
{
    /// <summary>Applies an input to a server session; refused (NOT_AUTHORITATIVE_OWNER) when this node may not change it.</summary>
    SessionOutcome Apply(ServerSession s, in SessionEvent e, long now, List<AuditEvent> audit);

    /// <summary>
    /// Runs before a server frame is handled; may replace <paramref name="s"/> (a session continued
    /// from elsewhere) or drop it (one this node may no longer serve). False when the frame was answered
    /// here (a refusal) or must stay unanswered.
    /// </summary>
    bool Admit(Peer peer, ref ServerSession? s, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now, List<AuditEvent> audit);

    /// <summary>Records a new session (<paramref name="replaced"/>: the peer's previous one). False: the session must not exist.</summary>
    bool TryCreate(Peer peer, ServerSession? replaced, SessionSlot slot);

    /// <summary>The sweep's part, after the server sessions' own timers.</summary>
    void Sweep(long now);

    /// <summary>
    /// Sessions outside the session table that still have due work (handed back in a cluster); no store calls. None
    /// by default: every session of a single server is in its table.
    /// </summary>
    void CollectDue(long now, List<ServerSession> due)
    {
    }
}
