namespace JumpingVpn.Tunnel.Noise;

/// <summary>Where a peer's handshake is (wireguard-go noise-protocol.go handshakeState).</summary>
public enum HandshakeState
{
    Zeroed,
    InitiationCreated,
    InitiationConsumed,
    ResponseCreated,
    ResponseConsumed,
}
