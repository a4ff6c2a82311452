using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tunnel.Noise;

/// <summary>
/// This node's static key pair (S_priv, S_pub in the whitepaper). Handshake work runs between
/// <see cref="TryEnter"/> and <see cref="Exit"/>; a replaced identity is <see cref="Retire"/>d and its
/// private key zeroed once no handshake uses it.
/// </summary>
public sealed class StaticIdentity
{
    private readonly KeyUseGate _gate;

    public StaticIdentity(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != X25519.KeySize)
        {
            throw new ArgumentException("a private key is 32 bytes", nameof(privateKey));
        }
        PrivateKey = privateKey.ToArray();
        PublicKey = new byte[X25519.KeySize];
        X25519.DerivePublicKey(PrivateKey, PublicKey);
        _gate = new KeyUseGate(() => System.Security.Cryptography.CryptographicOperations.ZeroMemory(PrivateKey));
    }

    public bool TryEnter() => _gate.TryEnter();

    public void Exit() => _gate.Exit();

    public void Retire() => _gate.Retire();

    /// <summary>Test hook: true once the private key bytes are zero.</summary>
    internal bool IsZeroed => PrivateKey.AsSpan().IndexOfAnyExcept((byte)0) < 0;

    public byte[] PrivateKey { get; }
    public byte[] PublicKey { get; }
}
