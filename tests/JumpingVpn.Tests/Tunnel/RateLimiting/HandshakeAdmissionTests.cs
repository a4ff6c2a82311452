using System.Net;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tunnel.RateLimiting;

namespace JumpingVpn.Tests.Tunnel.RateLimiting;

public class HandshakeAdmissionTests
{
    private const long Second = TimeSpan.TicksPerSecond;
    private static readonly long T0 = 10_000 * Second;

    private static byte[] Addr(string text) => IPAddress.Parse(text).GetAddressBytes();

    private static AdmissionLimits Limits(double global = 1000, int globalBurst = 100, double source = 10, int sourceBurst = 20, int maxSources = 64) =>
        new(global, globalBurst, source, sourceBurst, maxSources);

    private static byte[] V4(int i) => [10, (byte)(i >> 16), (byte)(i >> 8), (byte)i];

    [Fact]
    public void DefaultsLeaveRoomForTheBenchsClientsBehindOneAddress()
    {
        // docs/scaling.md: ~35 initiations/s per loopback address while 100k sessions are set up, and the
        // global legitimate peak is ~2.3k/s. The defaults must sit well above both.
        AdmissionLimits d = AdmissionLimits.Default;
        Assert.True(d.SourcePerSecond >= 3 * 35);
        Assert.True(d.GlobalPerSecond >= 3 * 2300);
        Assert.True(d.SourceBurst < 1024, "one source cannot fill the handshake queue in one burst");
    }

    [Fact]
    public void GlobalCapHoldsAcrossManySources()
    {
        var a = new HandshakeAdmission(Limits(global: 1000, globalBurst: 100, source: 10, sourceBurst: 20, maxSources: 10_000), T0);
        // 10 s of 200 sources each at their own limit (10/s): 2000/s offered, within every per-source bucket.
        int admitted = 0;
        for (long ms = 0; ms < 10_000; ms++)
        {
            for (int s = 0; s < 200; s++)
            {
                if ((ms + s) % 100 == 0 && a.Admit(V4(s), T0 + (ms * Second / 1000)) == AdmissionVerdict.Admitted)
                {
                    admitted++;
                }
            }
        }
        // Burst 100 + 1000/s for 10 s.
        Assert.InRange(admitted, 10 * 1000, (10 * 1000) + 100);
        Assert.Equal(2000 * 10 - admitted, a.GlobalLimited);
        Assert.Equal(0, a.SourceLimited);
    }

    [Fact]
    public void OneFloodingSourceDoesNotBlockAnother()
    {
        var a = new HandshakeAdmission(Limits(global: 1000, globalBurst: 100, source: 10, sourceBurst: 20), T0);
        byte[] flood = Addr("198.51.100.7"), client = Addr("192.0.2.1");
        int floodAdmitted = 0, clientAdmitted = 0;
        // 5 s: the flooder sends 10 000/s, the client 5/s.
        for (long tick = 0; tick < 5 * 10_000; tick++)
        {
            long now = T0 + (tick * Second / 10_000);
            floodAdmitted += a.Admit(flood, now) == AdmissionVerdict.Admitted ? 1 : 0;
            if (tick % 2000 == 0)
            {
                clientAdmitted += a.Admit(client, now) == AdmissionVerdict.Admitted ? 1 : 0;
            }
        }
        Assert.Equal(25, clientAdmitted);                              // every one of them
        Assert.InRange(floodAdmitted, 20 + (5 * 10) - 1, 20 + (5 * 10)); // burst + 10/s
        Assert.Equal((5 * 10_000) - floodAdmitted, a.SourceLimited);
        Assert.Equal(0, a.GlobalLimited);                              // the flooder never reached the global bucket
    }

    [Fact]
    public void SourcesAreAddressesAndIPv6Slash64s()
    {
        var a = new HandshakeAdmission(Limits(source: 1, sourceBurst: 1), T0);
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(Addr("192.0.2.1"), T0));
        Assert.Equal(AdmissionVerdict.SourceLimited, a.Admit(Addr("192.0.2.1"), T0));
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(Addr("192.0.2.2"), T0));
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(Addr("2001:db8:1:2::1"), T0));
        Assert.Equal(AdmissionVerdict.SourceLimited, a.Admit(Addr("2001:db8:1:2:ffff::9"), T0)); // same /64
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(Addr("2001:db8:1:3::1"), T0));
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(new byte[16], T0)); // ::/64 is not 0.0.0.0
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(new byte[4], T0));
        Assert.Equal(6, a.TrackedSources);
        Assert.Equal(2, a.SourceLimited);
    }

    [Fact]
    public void TableIsBoundedAndUntrackedSourcesMeetOnlyTheGlobalBucket()
    {
        var a = new HandshakeAdmission(Limits(global: 1_000_000, globalBurst: 100_000, source: 1, sourceBurst: 1, maxSources: 100), T0);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(AdmissionVerdict.Admitted, a.Admit(V4(i), T0));
            Assert.True(a.TrackedSources <= 100);
        }
        Assert.Equal(100, a.TrackedSources);
        Assert.Equal(900, a.Untracked);
        // A tracked source keeps its limit while the table is full; an untracked one is not refused.
        Assert.Equal(AdmissionVerdict.SourceLimited, a.Admit(V4(0), T0));
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit(V4(500), T0));
        Assert.Equal(AdmissionVerdict.Admitted, a.Admit([], T0)); // no address: untracked, not thrown
    }

    [Fact]
    public void IdleSourcesAreSweptOnceTheirBucketIsFullAgain()
    {
        // Burst 20 at 10/s: an empty bucket is full after 2 s, so entries idle for 2 s are swept.
        var a = new HandshakeAdmission(Limits(source: 10, sourceBurst: 20, maxSources: 100), T0);
        for (int i = 0; i < 100; i++)
        {
            a.Admit(V4(i), T0);
        }
        Assert.Equal(100, a.TrackedSources);
        a.Admit(V4(0), T0 + (3 * Second / 2)); // a sweep at 1.5 s: nobody idle for 2 s yet
        Assert.Equal(100, a.TrackedSources);
        a.Admit(V4(1), T0 + (5 * Second / 2)); // 2.5 s: the 99 others (idle 2.5 s) go; .0 (idle 1 s) stays, .1 comes back
        Assert.Equal(2, a.TrackedSources);
        // The table has room again for new sources.
        for (int i = 1000; i < 1098; i++)
        {
            a.Admit(V4(i), T0 + (5 * Second / 2));
        }
        Assert.Equal(100, a.TrackedSources);
        Assert.Equal(0, a.Untracked);
    }

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        var a = new HandshakeAdmission(Limits(global: 100_000, globalBurst: 1000, source: 100, sourceBurst: 10, maxSources: 256), T0);
        byte[][] sources = new byte[512][];
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = V4(i);
        }
        long now = T0;
        int k = 0;
        // More sources than the table holds, and time moving so that sweeps run and entries are re-added.
        SteadyState.AllocatesNothing(() =>
        {
            now += Second / 500;
            a.Admit(sources[k++ % sources.Length], now);
        }, rounds: 20_000, warmup: 5000);
    }

    [Fact]
    public void WorkBudgetTripsUnderLoadAndStaysWhileDemandLasts()
    {
        var b = new HandshakeWorkBudget(T0, perSecond: 100, burst: 10);
        for (int i = 0; i < 10; i++)
        {
            b.Charge(T0);
            Assert.False(b.UnderLoad(T0));
        }
        b.Charge(T0); // the 11th in the same instant: over budget
        Assert.True(b.UnderLoad(T0));
        Assert.Equal(1, b.Trips);
        // Demand goes on at 1000/s for ~3 s: under load the whole time, still one trip. (Every 10th charge
        // finds a refilled token; the last one, at 2995 ms, does not.)
        for (long ms = 1; ms <= 2995; ms++)
        {
            long now = T0 + (ms * Second / 1000);
            b.Charge(now);
            Assert.True(b.UnderLoad(now));
        }
        Assert.Equal(1, b.Trips);
        // Demand stops: the last charge holds it for one more second, then it clears.
        long end = T0 + (2995 * Second / 1000);
        Assert.True(b.UnderLoad(end + Second - 1));
        Assert.False(b.UnderLoad(end + Second));
        // Demand below the rate (50/s) never trips it.
        for (long ms = 0; ms < 5000; ms += 20)
        {
            b.Charge(end + (2 * Second) + (ms * Second / 1000));
        }
        Assert.False(b.UnderLoad(end + (7 * Second)));
        Assert.Equal(1, b.Trips);
    }

    [Fact]
    public void WorkBudgetDefaultsLeaveRoomForLegitimateHandshakes()
    {
        var b = new HandshakeWorkBudget(T0);
        // 2.5k initiations/s for 10 s (above the measured legitimate peak of ~2.3k/s), in bursts of 128.
        for (long step = 0; step < 10 * 2500 / 128; step++)
        {
            long now = T0 + (step * 128 * Second / 2500);
            for (int i = 0; i < 128; i++)
            {
                b.Charge(now);
            }
            Assert.False(b.UnderLoad(now));
        }
        Assert.Equal(0, b.Trips);
    }
}
