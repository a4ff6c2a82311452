using JumpingVpn.Tunnel.RateLimiting;

namespace JumpingVpn.Tests.Tunnel.RateLimiting;

public class TokenBucketTests
{
    private const long Second = TimeSpan.TicksPerSecond;

    [Fact]
    public void StartsFullThenRefillsAtRate()
    {
        long now = 1000 * Second;
        var b = new TokenBucket(ratePerSecond: 10, burst: 3, now);
        Assert.True(b.TryTake(now));
        Assert.True(b.TryTake(now));
        Assert.True(b.TryTake(now));
        Assert.False(b.TryTake(now));
        Assert.False(b.TryTake(now + (Second / 10) - 1)); // not quite one token yet
        Assert.True(b.TryTake(now + (Second / 10)));
        Assert.False(b.TryTake(now + (Second / 10)));
    }

    [Fact]
    public void NeverHoldsMoreThanBurst()
    {
        var b = new TokenBucket(10, 3, 0);
        Assert.Equal(3, b.Available);
        long later = 3600 * Second;
        int granted = 0;
        while (b.TryTake(later))
        {
            granted++;
        }
        Assert.Equal(3, granted);
    }

    [Fact]
    public void BackwardsTimeMintsNothing()
    {
        long now = 50 * Second;
        var b = new TokenBucket(1, 1, now);
        Assert.True(b.TryTake(now));
        Assert.False(b.TryTake(now - Second));
        Assert.False(b.TryTake(now + (Second / 2)));
        Assert.True(b.TryTake(now + Second));
    }

    [Fact]
    public void FractionalRatesAndMultiTokenTakes()
    {
        var b = new TokenBucket(0.5, 2, 0);
        Assert.False(b.TryTake(0, tokens: 3)); // more than a full bucket: never
        Assert.True(b.TryTake(0, tokens: 2));
        Assert.False(b.TryTake(Second));
        Assert.True(b.TryTake(2 * Second));
    }

    [Fact]
    public void DefaultBucketGrantsNothing()
    {
        TokenBucket b = default;
        Assert.False(b.TryTake(Second));
    }

    [Fact]
    public void RejectsBadParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(0, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(double.NaN, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(1, 0, 0));
    }
}
