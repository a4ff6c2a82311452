namespace JumpingVpn.Tunnel.RateLimiting;

/// <summary>
/// A token bucket with integer arithmetic and caller-supplied time (ticks of <see cref="TimeSpan.TicksPerSecond"/>).
/// Tokens are kept in "ticks of credit": one token costs <c>TicksPerSecond / rate</c> ticks and the bucket
/// holds at most <c>burst</c> tokens' worth, which is how wireguard-go's and the kernel's ratelimiter keep
/// their buckets (tokens measured in nanoseconds). A new bucket starts full.
/// </summary>
/// <remarks>A mutable struct: keep it in a field or an array slot and call it by reference. Not thread-safe.</remarks>
public struct TokenBucket
{
    private readonly long _costTicks;     // credit one token costs
    private readonly long _capacityTicks; // credit of a full bucket
    private long _credit;
    private long _lastTicks;

    /// <param name="ratePerSecond">Sustained tokens per second (&gt; 0; fractions allowed, e.g. 0.5).</param>
    /// <param name="burst">Tokens available at once when the bucket is full (&gt;= 1).</param>
    /// <param name="nowTicks">Current time; the bucket starts full at this instant.</param>
    public TokenBucket(double ratePerSecond, int burst, long nowTicks)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "must be a positive finite rate");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _costTicks = Math.Max(1L, (long)Math.Ceiling(TimeSpan.TicksPerSecond / ratePerSecond));
        _capacityTicks = checked(_costTicks * burst);
        _credit = _capacityTicks;
        _lastTicks = nowTicks;
    }

    /// <summary>Time of the last refill (the last call that saw time move forward).</summary>
    public readonly long LastTicks => _lastTicks;

    /// <summary>Whole tokens available right now, as of the last call (does not refill).</summary>
    public readonly long Available => _costTicks == 0 ? 0 : _credit / _costTicks;

    /// <summary>Takes <paramref name="tokens"/> tokens if they are all available; otherwise takes none.</summary>
    public bool TryTake(long nowTicks, int tokens = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        // default(TokenBucket) has no cost and no capacity: it never grants anything.
        if (_costTicks == 0 || tokens > _capacityTicks / _costTicks)
        {
            return false;
        }
        Refill(nowTicks);
        long cost = _costTicks * tokens; // <= capacity, so no overflow
        if (_credit < cost)
        {
            return false;
        }
        _credit -= cost;
        return true;
    }

    private void Refill(long nowTicks)
    {
        // Time that goes backwards (clock adjustments, racing callers) adds nothing and does not move
        // the reference point back, so it can never mint tokens.
        if (nowTicks <= _lastTicks)
        {
            return;
        }
        long elapsed = nowTicks - _lastTicks;
        _lastTicks = nowTicks;
        long room = _capacityTicks - _credit;
        _credit = elapsed >= room ? _capacityTicks : _credit + elapsed;
    }
}
