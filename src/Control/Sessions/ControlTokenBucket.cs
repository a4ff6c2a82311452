namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Per-session control token bucket (docs/session-spec.md §2.7: 2/s, burst 5). Integer milli-tokens and an
/// injected clock keep it deterministic; retry_after_ms = ceil(missing / refill rate) as upstream's
/// rate_limiter.py defines it. A clock that goes backwards refills nothing.
/// </summary>
internal struct ControlTokenBucket
{
    private const long One = 1_000;
    private long _milliTokens;
    private long _lastMs;

    public ControlTokenBucket(int burst, long nowMs)
    {
        _milliTokens = burst * One;
        _lastMs = nowMs;
    }

    public readonly long MilliTokens => _milliTokens;

    public readonly long LastRefillMs => _lastMs;

    /// <summary>0 when a token is available at <paramref name="nowMs"/>, else the wait in ms.</summary>
    public readonly uint RetryAfterMs(long nowMs, int ratePerSecond, int burst)
    {
        long available = Available(nowMs, ratePerSecond, burst);
        if (available >= One)
        {
            return 0;
        }
        // rate tokens/s == rate milli-tokens/ms.
        return (uint)((One - available + ratePerSecond - 1) / ratePerSecond);
    }

    public void Consume(long nowMs, int ratePerSecond, int burst)
    {
        _milliTokens = Available(nowMs, ratePerSecond, burst) - One;
        _lastMs = Math.Max(_lastMs, nowMs);
    }

    private readonly long Available(long nowMs, int ratePerSecond, int burst)
    {
        long elapsed = Math.Max(0, nowMs - _lastMs);
        long cap = burst * One;
        // elapsed is bounded by the session lifetime, so elapsed * rate cannot overflow in practice;
        // the Min keeps it exact anyway.
        return Math.Min(cap, _milliTokens + Math.Min(elapsed, cap) * ratePerSecond);
    }
}
