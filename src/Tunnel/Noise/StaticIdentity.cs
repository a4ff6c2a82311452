using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tunnel.Noise;

/// <summary>This node's static key pair (S_priv, S_pub in the whitepaper).</summary>
public sealed class StaticIdentity
{
    public StaticIdentity(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != X25519.KeySize)
        {
            throw new ArgumentException("a private key is 32 bytes", nameof(privateKey));
        }
        PrivateKey = privateKey.ToArray();
        PublicKey = new byte[X25519.KeySize];
        X25519.DerivePublicKey(PrivateKey, PublicKey);
    }

    public byte[] PrivateKey { get; }
    public byte[] PublicKey { get; }
}
