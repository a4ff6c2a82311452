using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>A single server: this node owns every session it created, nothing is written anywhere else.</summary>
internal sealed class SingleNodeOwnership : ISessionOwnership
{
    public static SingleNodeOwnership Instance { get; } = new();

    private SingleNodeOwnership()
    {
    }

    public SessionOutcome Apply(ServerSession s, in SessionEvent e, long now, List<AuditEvent> audit) =>
        s.Slot.Apply(e, now, audit);

    public bool Admit(Peer peer, ref ServerSession? s, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long now, List<AuditEvent> audit) => true;

    public bool TryCreate(Peer peer, ServerSession? replaced, SessionSlot slot) => true;

    public void Sweep(long now)
    {
        // Nothing to renew or fence: no lease exists on a single server.
    }
}
