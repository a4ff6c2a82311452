using System.Net;

namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// Where the protocol core sends the datagrams it creates itself (handshakes, cookie replies,
/// keepalives, staged packets). The UDP transport implements it; tests use an in-memory fake.
/// Data packets from the TUN are returned to the caller's loop instead, so the hot path stays in
/// caller-owned buffers.
/// </summary>
public interface IDatagramSender
{
    /// <summary>Sends one datagram; false on a transient error (the packet is dropped, never thrown).</summary>
    bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination);
}
