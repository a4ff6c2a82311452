using System.Net;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.RateLimiting;

namespace JumpingVpn.Tests.Tunnel.RateLimiting;

/// <summary>
/// mac1 before any shared budget (docs/scaling.md, "Handshake admission"): a keyless flood is a counter
/// and nothing else, however fast and from however many sources it comes.
/// </summary>
public class AdmissionOrderTests
{
    private const long Second = TimeSpan.TicksPerSecond;
    private static readonly long T0 = 10_000 * Second;

    private static byte[] ServerPublic()
    {
        byte[] priv = new byte[32];
        X25519.GeneratePrivateKey(priv);
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(priv, pub);
        return pub;
    }

    /// <summary>What a client that knows the server's key sends: random body, valid mac1.</summary>
    private static byte[] GenuineInitiation(byte[] serverPublic, Random rng)
    {
        byte[] m = new byte[MessageLayout.InitiationSize];
        rng.NextBytes(m);
        m[0] = MessageLayout.TypeInitiation;
        m[1] = m[2] = m[3] = 0;
        new CookieGenerator(serverPublic).AddMacs(m, 0);
        return m;
    }

    /// <summary>What the keyless flood sends: a well-formed type and length, random everything else.</summary>
    private static byte[] KeylessInitiation(Random rng)
    {
        byte[] m = new byte[MessageLayout.InitiationSize];
        rng.NextBytes(m);
        m[0] = MessageLayout.TypeInitiation;
        m[1] = m[2] = m[3] = 0;
        return m;
    }

    private static byte[] Source(int i) => [100, 64, (byte)(i >> 8), (byte)i];

    [Fact]
    public void KeylessFloodFrom250SourcesFarAbove8192PerSecondDoesNotBlockGenuineInitiations()
    {
        byte[] pub = ServerPublic();
        var rng = new Random(7);
        var mac1 = new Mac1Verifier(pub);
        var admission = new HandshakeAdmission(AdmissionLimits.Default, T0);
        byte[][] flood = Enumerable.Range(0, 64).Select(_ => KeylessInitiation(rng)).ToArray();
        byte[] genuineSource = IPAddress.Parse("198.51.100.9").GetAddressBytes();
        // 1 s at 200k/s (24x the global bucket's rate, 800/s from each of 250 sources), with one genuine
        // initiation every 2000 flood datagrams. With the buckets charged first, the global bucket is
        // empty after its burst of 1024 and nearly every genuine initiation is refused.
        const int FloodPerSecond = 200_000;
        int genuineAdmitted = 0;
        int genuineSent = 0;
        for (int i = 0; i < FloodPerSecond; i++)
        {
            long now = T0 + (i * Second / FloodPerSecond);
            Assert.Equal(AdmissionVerdict.Mac1Invalid, admission.Admit(flood[i % flood.Length], Source(i % 250), now, mac1));
            if (i % 2000 == 1999)
            {
                genuineSent++;
                if (admission.Admit(GenuineInitiation(pub, rng), genuineSource, now, mac1) == AdmissionVerdict.Admitted)
                {
                    genuineAdmitted++;
                }
            }
        }
        Assert.Equal(100, genuineSent);
        Assert.Equal(genuineSent, genuineAdmitted);
        Assert.Equal(FloodPerSecond, admission.Mac1Invalid);
        Assert.Equal(0, admission.GlobalLimited);
        Assert.Equal(0, admission.SourceLimited);
        Assert.Equal(1, admission.TrackedSources); // the flood's sources never entered the table
    }

    [Fact]
    public void WithoutAKeyNoInitiationOrResponseIsAdmitted()
    {
        byte[] pub = ServerPublic();
        var admission = new HandshakeAdmission(AdmissionLimits.Default, T0);
        byte[] genuine = GenuineInitiation(pub, new Random(1));
        Assert.Equal(AdmissionVerdict.Mac1Invalid, admission.Admit(genuine, Source(1), T0, mac1: null));
        Assert.Equal(AdmissionVerdict.Mac1Invalid, admission.Admit(genuine, Source(1), T0, new Mac1Verifier(ServerPublic())));
        Assert.Equal(AdmissionVerdict.Admitted, admission.Admit(genuine, Source(1), T0, new Mac1Verifier(pub)));
    }

    [Fact]
    public void CookieReplyFloodDoesNotSpendTheInitiationsBudget()
    {
        byte[] pub = ServerPublic();
        var rng = new Random(3);
        var mac1 = new Mac1Verifier(pub);
        AdmissionLimits limits = AdmissionLimits.Default;
        var admission = new HandshakeAdmission(limits, T0);
        byte[] reply = new byte[MessageLayout.CookieReplySize];
        rng.NextBytes(reply);
        reply[0] = MessageLayout.TypeCookieReply;
        int repliesAdmitted = 0;
        for (int i = 0; i < 50_000; i++)
        {
            repliesAdmitted += admission.Admit(reply, Source(i % 250), T0, mac1) == AdmissionVerdict.Admitted ? 1 : 0;
        }
        // Cookie replies carry no mac1: their own bucket bounds them (time is frozen: exactly its burst) ...
        Assert.Equal(limits.GlobalBurst, repliesAdmitted);
        // ... and the initiations' global bucket is still full.
        for (int i = 0; i < limits.GlobalBurst; i++)
        {
            Assert.Equal(AdmissionVerdict.Admitted, admission.Admit(GenuineInitiation(pub, rng), Source(1000 + (i % 200)), T0, mac1));
        }
    }
}
