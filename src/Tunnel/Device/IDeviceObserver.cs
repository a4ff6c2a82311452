using System.Net;

namespace JumpingVpn.Tunnel.Device;

/// <summary>
/// Hooks through which the Jumping session layer (src/Control) follows the WireGuard core without the
/// core knowing about sessions. Calls come from the packet and handshake threads: implementations must
/// be quick, must not block, and must not allocate on the per-packet paths.
/// </summary>
public interface IDeviceObserver
{
    /// <summary>
    /// A new session's keys were installed for <paramref name="peer"/> (after our initiation was answered,
    /// or after we answered one). The client sends HELLO here (docs/design.md §2.2: after every handshake).
    /// </summary>
    void OnSessionKeysInstalled(Peer peer, bool weInitiated);

    /// <summary>
    /// Authenticated traffic from <paramref name="from"/>, which is not the peer's bound endpoint, while
    /// roaming is off for the peer (docs/design.md §2.2 binding rule: deliver, do not rebind, hint). The
    /// address buffer is reused by the caller: copy it if it must be kept. <paramref name="plaintext"/> is
    /// the packet's decrypted content (empty for a keepalive), so the session layer can tell its own
    /// control traffic (a probe of a candidate path) from a NAT rebinding.
    /// </summary>
    void OnUnboundSource(Peer peer, SocketAddress from, ReadOnlySpan<byte> plaintext);

    /// <summary>
    /// An authenticated control frame from <paramref name="peer"/> arrived from <paramref name="from"/>,
    /// on the path socket <paramref name="arrivedVia"/> (null: the primary socket).
    /// </summary>
    void OnControlFrame(Peer peer, ReadOnlySpan<byte> frame, SocketAddress from, IDatagramSender? arrivedVia);
}
