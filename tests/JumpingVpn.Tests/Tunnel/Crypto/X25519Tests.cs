using System.Diagnostics;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Tunnel.Crypto;

/// <summary>X25519 (RFC 7748) known answers, low-order rejection, and byte equality with wg(8).</summary>
public class X25519Tests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex);

    // RFC 7748 §6.1.
    private static readonly byte[] AlicePrivate = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    private static readonly byte[] AlicePublic = H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    private static readonly byte[] BobPrivate = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    private static readonly byte[] BobPublic = H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    private static readonly byte[] Shared = H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

    [Fact]
    public void DerivePublicKeyMatchesRfc7748Section61()
    {
        byte[] pub = new byte[X25519.KeySize];
        X25519.DerivePublicKey(AlicePrivate, pub);
        Assert.Equal(AlicePublic, pub);
        X25519.DerivePublicKey(BobPrivate, pub);
        Assert.Equal(BobPublic, pub);
    }

    [Fact]
    public void TryAgreeMatchesRfc7748Section61BothWays()
    {
        byte[] s = new byte[X25519.KeySize];
        Assert.True(X25519.TryAgree(AlicePrivate, BobPublic, s));
        Assert.Equal(Shared, s);
        Assert.True(X25519.TryAgree(BobPrivate, AlicePublic, s));
        Assert.Equal(Shared, s);
    }

    // RFC 7748 §5.2: single scalar multiplications. The second u-coordinate has its top bit set, which
    // RFC 7748 §5 says implementations must mask (decodeUCoordinate).
    [Theory]
    [InlineData("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void TryAgreeMatchesRfc7748Section52(string scalar, string u, string expected)
    {
        byte[] s = new byte[X25519.KeySize];
        Assert.True(X25519.TryAgree(H(scalar), H(u), s));
        Assert.Equal(H(expected), s);
    }

    // Points of small order (u = 0, u = 1, the two order-8 points, p - 1): the shared secret is all
    // zero and WireGuard must refuse it (whitepaper §5.4.2, §6 of the Noise spec on DH validation).
    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    [InlineData("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157")]
    [InlineData("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")]
    public void TryAgreeReturnsFalseForLowOrderPublicKeys(string u)
    {
        byte[] s = new byte[X25519.KeySize];
        Assert.False(X25519.TryAgree(AlicePrivate, H(u), s));
    }

    [Fact]
    public void TryAgreeReturnsFalseForWrongLengthPublicKey()
    {
        byte[] s = new byte[X25519.KeySize];
        Assert.False(X25519.TryAgree(AlicePrivate, BobPublic.AsSpan(0, 31), s));
    }

    [Fact]
    public void GeneratePrivateKeyClampsLikeWg()
    {
        byte[] priv = new byte[X25519.KeySize];
        X25519.GeneratePrivateKey(priv, static s => s.Fill(0xff));
        Assert.Equal(0xf8, priv[0]);
        Assert.Equal(0x7f, priv[31]);
        X25519.GeneratePrivateKey(priv, static s => s.Clear());
        Assert.Equal(0x00, priv[0]);
        Assert.Equal(0x40, priv[31]);
    }

    /// <summary>
    /// `wg genkey | wg pubkey` must agree byte for byte with <see cref="X25519.DerivePublicKey"/> (the CLI
    /// promises identical output). Skipped without wg(8); a failure in CI, where wg must be present.
    /// </summary>
    [Fact]
    public void DerivePublicKeyMatchesWgPubkey()
    {
        const string wg = "/usr/bin/wg";
        if (!File.Exists(wg))
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.Ordinal),
                "wg(8) is required in CI");
            Assert.Skip("wg(8) not installed");
        }
        for (int i = 0; i < 20; i++)
        {
            string privText = RunWg(wg, "genkey", null);
            string pubText = RunWg(wg, "pubkey", privText + "\n");
            Assert.True(WireGuardKey.TryParseBase64(privText, out byte[]? priv));
            Assert.True(WireGuardKey.TryParseBase64(pubText, out byte[]? expected));
            byte[] pub = new byte[X25519.KeySize];
            X25519.DerivePublicKey(priv, pub);
            Assert.Equal(expected, pub);
            Assert.Equal(pubText, WireGuardKey.ToBase64(pub));
        }
    }

    private static string RunWg(string wg, string verb, string? stdin)
    {
        var psi = new ProcessStartInfo(wg, verb)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException("wg did not start");
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
        }
        p.StandardInput.Close();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.Trim();
    }
}
