using System.Text;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tunnel.Noise;

/// <summary>Protocol constants of WireGuard v1 (whitepaper §5.4, "Protocol & Cryptography").</summary>
public static class NoiseConstants
{
    public static readonly byte[] Construction = Encoding.ASCII.GetBytes("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
    public static readonly byte[] Identifier = Encoding.ASCII.GetBytes("WireGuard v1 zx2c4 Jason@zx2c4.com");
    public static readonly byte[] LabelMac1 = Encoding.ASCII.GetBytes("mac1----");
    public static readonly byte[] LabelCookie = Encoding.ASCII.GetBytes("cookie--");

    /// <summary>C_i = HASH(Construction); H_i = HASH(C_i || Identifier), precomputed once.</summary>
    public static readonly byte[] InitialChainKey = ComputeInitialChainKey();
    public static readonly byte[] InitialHash = ComputeInitialHash();

    private static byte[] ComputeInitialChainKey()
    {
        byte[] ck = new byte[Blake2s.HashSize];
        Blake2s.Hash(Construction, ck);
        return ck;
    }

    private static byte[] ComputeInitialHash()
    {
        byte[] h = new byte[Blake2s.HashSize];
        Blake2s.Hash(ComputeInitialChainKey(), Identifier, h);
        return h;
    }
}
