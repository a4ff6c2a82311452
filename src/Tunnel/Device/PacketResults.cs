namespace JumpingVpn.Tunnel.Device;

/// <summary>Outcome of encapsulating one packet read from the TUN device.</summary>
public enum SendResult
{
    /// <summary>The datagram is ready in the caller's buffer; send it to the returned endpoint.</summary>
    Send,
    /// <summary>No session yet: the packet was queued and a handshake started.</summary>
    Staged,
    /// <summary>No peer's allowed IPs cover the destination.</summary>
    NoRoute,
    /// <summary>The peer has no known endpoint.</summary>
    NoEndpoint,
    /// <summary>Not an IPv4/IPv6 packet or too large.</summary>
    Malformed,
}

/// <summary>Outcome of processing one datagram from the UDP socket.</summary>
public enum ReceiveResult
{
    /// <summary>A decrypted inner packet is ready for the TUN device.</summary>
    Deliver,
    /// <summary>An authenticated keepalive: nothing to deliver.</summary>
    Keepalive,
    /// <summary>A handshake message for the handshake thread.</summary>
    Handshake,
    /// <summary>
    /// An authenticated Jumping control frame (plaintext starting with 0x00, docs/design.md §2.2) at
    /// [packetOffset, packetOffset + packetLength); trailing zero padding included.
    /// </summary>
    Control,
    /// <summary>Dropped; the reason is counted in <see cref="DeviceCounters"/>.</summary>
    Drop,
}
