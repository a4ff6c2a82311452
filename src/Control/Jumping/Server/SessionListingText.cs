using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>
/// The text a session listing shows and searches for one server session, made once per session by the first
/// listing that sees it (on the listing's thread, never on a packet thread) and kept on the
/// <see cref="ServerSession"/>, so a search over 100 000 sessions compares strings instead of formatting them
/// (docs/ui.md "Server mode"). The parts that can change (inner addresses, endpoint) are immutable pairs of the
/// value they were made from and its text, replaced as one reference when the value changed.
/// </summary>
internal sealed class SessionListingText
{
    public SessionListingText(ServerSession session)
    {
        byte[] key = session.Peer.PublicKey;
        KeyHex = Convert.ToHexStringLower(key);
        KeyBase64 = WireGuardKey.ToBase64(key);
        SessionIdText = session.Slot.Id.ToString();
        SortKey = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(key);
    }

    public string KeyHex { get; }
    public string KeyBase64 { get; }
    public string SessionIdText { get; }

    /// <summary>The key's first 8 bytes, big-endian: orders like the key itself, ties broken by the whole key.</summary>
    public ulong SortKey { get; }

    /// <summary>Inner addresses as of an allowed-IPs generation (null: not made yet).</summary>
    public InnerText? Inner { get; set; }

    /// <summary>The bound endpoint's text as of a binding (null: not made yet).</summary>
    public EndpointText? Endpoint { get; set; }

    public sealed record InnerText(long Generation, string Text);

    public sealed record EndpointText(TransportAddress? Binding, string Text);
}
