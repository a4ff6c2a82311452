using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

public sealed class LimiterTests
{
    [Fact]
    public void TokenBucketAllowsBurstThenRefillsAtRate()
    {
        var b = new ControlTokenBucket(5, 0);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(0u, b.RetryAfterMs(0, 2, 5));
            b.Consume(0, 2, 5);
        }
        Assert.Equal(500u, b.RetryAfterMs(0, 2, 5));
        Assert.Equal(1u, b.RetryAfterMs(499, 2, 5));
        Assert.Equal(0u, b.RetryAfterMs(500, 2, 5));
        Assert.Equal(500u, b.RetryAfterMs(-100, 2, 5)); // a clock going backwards refills nothing
        Assert.Equal(0u, b.RetryAfterMs(long.MaxValue / 2, 2, 5)); // no overflow after a long idle
    }

    [Fact]
    public void SwitchRingSlidesOverSixtySeconds()
    {
        var ring = new SwitchRing(3);
        ring.Push(0);
        ring.Push(10_000);
        Assert.False(ring.IsCapped(20_000, out _));
        ring.Push(20_000);
        Assert.True(ring.IsCapped(59_999, out uint wait));
        Assert.Equal(1u, wait);
        Assert.False(ring.IsCapped(60_000, out _));
        ring.Push(60_000);
        Assert.True(ring.IsCapped(60_001, out wait));
        Assert.Equal(9_999u, wait);
    }

    [Fact]
    public void CtrlSeqWindowRules()
    {
        var w = new CtrlSeqWindow();
        Assert.Equal(ReasonCode.ReplayDetected, w.CheckMutating(0, 256));
        Assert.Equal(ReasonCode.None, w.CheckMutating(256, 256));
        Assert.Equal(ReasonCode.FreshnessInvalid, w.CheckMutating(257, 256));
        w.Accept(1_000);
        Assert.Equal(ReasonCode.None, w.CheckNonMutating(999, 128, 256));
        w.Accept(999);
        Assert.Equal(ReasonCode.ReplayDetected, w.CheckNonMutating(999, 128, 256));
        Assert.Equal(ReasonCode.ReplayDetected, w.CheckNonMutating(872, 128, 256));
        Assert.Equal(ReasonCode.None, w.CheckNonMutating(873, 128, 256));
        Assert.Equal(ReasonCode.ReplayDetected, w.CheckMutating(1_000, 256));
        w.Accept(1_000 + 200); // a jump wider than the window forgets everything behind it
        Assert.Equal(ReasonCode.ReplayDetected, w.CheckNonMutating(1_000, 128, 256)); // too old now
        Assert.Equal(ReasonCode.None, w.CheckNonMutating(1_199, 128, 256));
    }
}
