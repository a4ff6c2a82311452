using System.Net;
using JumpingVpn.Tunnel.RateLimiting;

namespace JumpingVpn.Tests.Tunnel.RateLimiting;

public class HandshakeRateLimiterTests
{
    private const long Second = TimeSpan.TicksPerSecond;
    private static readonly long T0 = 10_000 * Second;

    private static byte[] Addr(string text) => IPAddress.Parse(text).GetAddressBytes();

    [Fact]
    public void BurstOfFiveThenTwentyPerSecond()
    {
        var l = new HandshakeRateLimiter();
        byte[] a = Addr("192.0.2.1");
        for (int i = 0; i < HandshakeRateLimiter.PacketsBurstable; i++)
        {
            Assert.True(l.Allow(a, T0), $"burst packet {i}");
        }
        Assert.False(l.Allow(a, T0));

        // Refill: one packet per 1/20 s.
        Assert.False(l.Allow(a, T0 + (Second / 20) - 1));
        Assert.True(l.Allow(a, T0 + (Second / 20)));
        Assert.False(l.Allow(a, T0 + (Second / 20)));

        // Sustained: over 10 s at a high offered rate exactly 20/s get through.
        long start = T0 + Second; // bucket full again
        int allowed = 0;
        for (long t = start; t < start + (10 * Second); t += Second / 1000)
        {
            allowed += l.Allow(a, t) ? 1 : 0;
        }
        Assert.InRange(allowed, (10 * 20) + 5 - 1, (10 * 20) + 5);
    }

    [Fact]
    public void SourcesAreIndependent()
    {
        var l = new HandshakeRateLimiter();
        byte[] a = Addr("192.0.2.1"), b = Addr("192.0.2.2");
        for (int i = 0; i < 5; i++)
        {
            Assert.True(l.Allow(a, T0));
        }
        Assert.False(l.Allow(a, T0));
        Assert.True(l.Allow(b, T0));
        Assert.Equal(2, l.Count);
    }

    [Fact]
    public void IPv6SharesOneBucketPerSlash64()
    {
        var l = new HandshakeRateLimiter();
        for (int i = 0; i < 5; i++)
        {
            Assert.True(l.Allow(Addr($"2001:db8:1:2::{i + 1:x}"), T0));
        }
        Assert.False(l.Allow(Addr("2001:db8:1:2:ffff::9"), T0)); // same /64, different host
        Assert.True(l.Allow(Addr("2001:db8:1:3::1"), T0));        // next /64
        Assert.Equal(2, l.Count);
    }

    [Fact]
    public void IPv4AndIPv6KeysDoNotCollide()
    {
        var l = new HandshakeRateLimiter();
        byte[] v4 = [0, 0, 0, 0];
        byte[] v6 = new byte[16]; // ::, same leading bits
        for (int i = 0; i < 5; i++)
        {
            Assert.True(l.Allow(v4, T0));
        }
        Assert.True(l.Allow(v6, T0));
    }

    [Fact]
    public void OddAddressLengthsAreRefused()
    {
        var l = new HandshakeRateLimiter();
        Assert.False(l.Allow([], T0));
        Assert.False(l.Allow(new byte[5], T0));
        Assert.Equal(0, l.Count);
    }

    [Fact]
    public void TableSizeIsBoundedUnderAFloodOfSources()
    {
        var l = new HandshakeRateLimiter(maxEntries: 1000);
        long now = T0;
        byte[] a = new byte[4];
        // 5000 distinct sources in the same instant: only the first 1000 get a bucket.
        for (int i = 0; i < 5000; i++)
        {
            a[0] = 10;
            a[1] = (byte)(i >> 16);
            a[2] = (byte)(i >> 8);
            a[3] = (byte)i;
            Assert.Equal(i < 1000, l.Allow(a, now));
            Assert.True(l.Count <= 1000);
        }
        // Sources already known keep working while the table is full.
        Assert.True(l.Allow([10, 0, 0, 1], now));

        // A flood over time: idle entries are swept, the table never exceeds the cap, and new sources
        // are served again once the old ones age out.
        for (int second = 1; second <= 5; second++)
        {
            now = T0 + (second * Second) + 1;
            for (int i = 0; i < 3000; i++)
            {
                a[0] = (byte)(20 + second);
                a[2] = (byte)(i >> 8);
                a[3] = (byte)i;
                l.Allow(a, now + i);
                Assert.True(l.Count <= 1000);
            }
        }
        now += 2 * Second;
        Assert.True(l.Allow([192, 0, 2, 99], now)); // sweep ran: room again
        Assert.Equal(1, l.Count);
    }

    [Fact]
    public void IdleEntriesAreSweptAtMostOncePerSecond()
    {
        var l = new HandshakeRateLimiter();
        Assert.True(l.Allow(Addr("192.0.2.1"), T0)); // first call sweeps (nothing) and starts the clock
        Assert.True(l.Allow(Addr("192.0.2.2"), T0 + (Second / 2)));
        Assert.Equal(2, l.Count);
        // 1.2 s: the first sweep since T0 removes .1 (idle 1.2 s); .2 (idle 0.7 s) stays, .3 is added.
        Assert.True(l.Allow(Addr("192.0.2.3"), T0 + (Second * 12 / 10)));
        Assert.Equal(2, l.Count);
        // 1.8 s: .2 is now idle 1.3 s, but the last sweep was only 0.6 s ago: no sweep.
        Assert.True(l.Allow(Addr("192.0.2.4"), T0 + (Second * 18 / 10)));
        Assert.Equal(3, l.Count);
        // 2.3 s: sweep removes .2 (idle 1.8 s) and .3 (idle 1.1 s); .4 stays, .5 is added.
        Assert.True(l.Allow(Addr("192.0.2.5"), T0 + (Second * 23 / 10)));
        Assert.Equal(2, l.Count);
    }

    [Fact]
    public async Task SafeUnderConcurrentCallers()
    {
        var l = new HandshakeRateLimiter(maxEntries: 512);
        byte[] shared = Addr("198.51.100.7");
        int sharedAllowed = 0;
        var tasks = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            byte[] a = new byte[4];
            for (int i = 0; i < 20_000; i++)
            {
                a[0] = (byte)w;
                a[2] = (byte)(i >> 8);
                a[3] = (byte)i;
                l.Allow(a, T0);
                if (l.Allow(shared, T0))
                {
                    Interlocked.Increment(ref sharedAllowed);
                }
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(tasks);
        Assert.Equal(HandshakeRateLimiter.PacketsBurstable, sharedAllowed); // time frozen: exactly the burst
        Assert.True(l.Count <= 512);
    }
}
