using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Tunnel.Crypto;

/// <summary>
/// HMAC-BLAKE2s and the Noise HKDF (KDF1/2/3) against published answers: the Linux kernel's blake2s
/// self-test (HMAC) and wireguard-go device/kdf_test.go (KDF).
/// </summary>
public class KdfTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    private static (byte[] Key, byte[] Buf) KernelInputs()
    {
        byte[] key = new byte[32];
        key[0] = key[1] = 1;
        for (int n = 2; n < key.Length; n++)
        {
            key[n] = (byte)(key[n - 2] + key[n - 1]);
        }
        byte[] buf = new byte[256];
        for (int n = 0; n < buf.Length; n++)
        {
            buf[n] = (byte)n;
        }
        return (key, buf);
    }

    [Fact]
    public void HmacMatchesKernelSelfTestWithShortKey()
    {
        // Linux lib/crypto/blake2s-selftest.c blake2s_hmac_testvecs[0]: HMAC(key = Fibonacci key, msg = 0..255).
        var (key, buf) = KernelInputs();
        byte[] output = new byte[Blake2s.HashSize];
        Blake2s.Hmac(key, buf, output);
        Assert.Equal(H("cee1576982dcbf43ad564c70ed681696cfa473e8e8fc3279080a7582da3f0511"), output);
    }

    [Fact]
    public void HmacMatchesKernelSelfTestWithKeyLongerThanABlock()
    {
        // blake2s_hmac_testvecs[1]: HMAC(key = 0..255 (hashed first: longer than the 64-byte block), msg = Fibonacci key).
        var (key, buf) = KernelInputs();
        byte[] output = new byte[Blake2s.HashSize];
        Blake2s.Hmac(buf, key, output);
        Assert.Equal(H("772f0c7141f44b2bb3c6b6f960dee4523866e8bf9b96c49f60d9243799d6ec31"), output);
    }

    // wireguard-go device/kdf_test.go TestKDF: key (chaining key), input, t0, t1, t2.
    public static TheoryData<string, string, string, string, string> WireGuardGoVectors => new()
    {
        {
            "746573742d6b6579", "746573742d696e707574",
            "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
            "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
            "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"
        },
        {
            "776972656775617264", "776972656775617264",
            "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
            "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
            "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"
        },
        {
            "", "",
            "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
            "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
            "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"
        },
    };

    [Theory]
    [MemberData(nameof(WireGuardGoVectors))]
    public void Kdf3MatchesWireGuardGo(string key, string input, string t0, string t1, string t2)
    {
        byte[] o1 = new byte[32], o2 = new byte[32], o3 = new byte[32];
        Blake2s.Kdf(H(key), H(input), o1, o2, o3);
        Assert.Equal(H(t0), o1);
        Assert.Equal(H(t1), o2);
        Assert.Equal(H(t2), o3);
    }

    [Theory]
    [MemberData(nameof(WireGuardGoVectors))]
    public void Kdf2MatchesWireGuardGo(string key, string input, string t0, string t1, string t2)
    {
        _ = t2;
        byte[] o1 = new byte[32], o2 = new byte[32];
        Blake2s.Kdf(H(key), H(input), o1, o2, default);
        Assert.Equal(H(t0), o1);
        Assert.Equal(H(t1), o2);
    }

    [Theory]
    [MemberData(nameof(WireGuardGoVectors))]
    public void Kdf1MatchesWireGuardGo(string key, string input, string t0, string t1, string t2)
    {
        _ = t1;
        _ = t2;
        byte[] o1 = new byte[32];
        Blake2s.Kdf(H(key), H(input), o1, default, default);
        Assert.Equal(H(t0), o1);
    }
}
