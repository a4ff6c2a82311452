namespace JumpingVpn.Tunnel.Noise;

/// <summary>
/// The result of a completed handshake (whitepaper §5.4.5): one transport key per direction and the
/// two session indices. Handed to the keypair manager, then zeroed.
/// </summary>
public sealed class SessionKeys
{
    public required byte[] SendKey { get; init; }
    public required byte[] ReceiveKey { get; init; }
    public required uint LocalIndex { get; init; }
    public required uint RemoteIndex { get; init; }
    public required bool IsInitiator { get; init; }

    public void Clear()
    {
        Array.Clear(SendKey);
        Array.Clear(ReceiveKey);
    }
}
