using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Noise;

public class NoiseConstantsTests
{
    // C_i = HASH("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s") and H_i = HASH(C_i || "WireGuard v1 zx2c4
    // Jason@zx2c4.com") as published in the test suites of several independent WireGuard
    // implementations (Go, Rust, C++ ones among them, some citing boringtun's identical constants).
    [Fact]
    public void InitialChainKeyMatchesPublishedValue() =>
        Assert.Equal(Convert.FromHexString("60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36"),
            NoiseConstants.InitialChainKey);

    [Fact]
    public void InitialHashMatchesPublishedValue() =>
        Assert.Equal(Convert.FromHexString("2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3"),
            NoiseConstants.InitialHash);

    [Fact]
    public void SymmetricStateInitializeWithWireGuardIdentifierGivesTheConstants()
    {
        // Noise §5.2 InitializeSymmetric + MixHash(prologue) must land on the same ck/h WireGuard precomputes.
        var st = new SymmetricState();
        st.Initialize(NoiseConstants.Construction, NoiseConstants.Identifier);
        Assert.Equal(NoiseConstants.InitialChainKey, st.ChainingKey);
        Assert.Equal(NoiseConstants.InitialHash, st.Hash);
    }

    [Fact]
    public void LabelsAndSizesMatchTheWhitepaper()
    {
        Assert.Equal("mac1----"u8.ToArray(), NoiseConstants.LabelMac1);
        Assert.Equal("cookie--"u8.ToArray(), NoiseConstants.LabelCookie);
        Assert.Equal(148, MessageLayout.InitiationSize);
        Assert.Equal(92, MessageLayout.ResponseSize);
        Assert.Equal(64, MessageLayout.CookieReplySize);
        Assert.Equal(MessageLayout.InitMac1, MessageLayout.Mac1Offset(MessageLayout.InitiationSize));
        Assert.Equal(MessageLayout.InitMac2, MessageLayout.Mac2Offset(MessageLayout.InitiationSize));
        Assert.Equal(MessageLayout.RespMac1, MessageLayout.Mac1Offset(MessageLayout.ResponseSize));
        Assert.Equal(MessageLayout.RespMac2, MessageLayout.Mac2Offset(MessageLayout.ResponseSize));
    }
}
