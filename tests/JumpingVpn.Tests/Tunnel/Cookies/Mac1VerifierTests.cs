using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.Tunnel.Cookies;

public class Mac1VerifierTests
{
    private static (byte[] Public, byte[] Message) SignedInitiation(int seed)
    {
        byte[] priv = new byte[32];
        X25519.GeneratePrivateKey(priv);
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(priv, pub);
        byte[] message = new byte[MessageLayout.InitiationSize];
        new Random(seed).NextBytes(message);
        message[0] = MessageLayout.TypeInitiation;
        new CookieGenerator(pub).AddMacs(message, 0);
        return (pub, message);
    }

    [Fact]
    public void AgreesWithTheCookieCheckerOnValidAndTamperedMessages()
    {
        (byte[] pub, byte[] message) = SignedInitiation(1);
        var verifier = new Mac1Verifier(pub);
        var checker = new CookieChecker(pub);
        Assert.True(verifier.Check(message));
        Assert.True(checker.CheckMac1(message));
        Assert.True(verifier.Check(message), "the digest is reusable: a second check gives the same answer");
        message[20] ^= 1;
        Assert.False(verifier.Check(message));
        Assert.False(checker.CheckMac1(message));
        Assert.False(verifier.Check(message.AsSpan(0, 100)), "only initiation and response lengths are checked");
    }

    [Fact]
    public void ChecksWithoutAllocating()
    {
        (byte[] pub, byte[] message) = SignedInitiation(2);
        var verifier = new Mac1Verifier(pub);
        byte[] bogus = (byte[])message.Clone();
        bogus[30] ^= 0xff;
        verifier.Check(message);
        long before = GC.GetAllocatedBytesForCurrentThread();
        int valid = 0;
        for (int i = 0; i < 1000; i++)
        {
            valid += verifier.Check(message) ? 1 : 0;
            valid += verifier.Check(bogus) ? 1 : 0;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, valid);
        Assert.Equal(0, allocated);
    }
}
