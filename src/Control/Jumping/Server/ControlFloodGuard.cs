using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>What <see cref="ControlFloodGuard.Admit"/> decided for one HELLO or REATTACH_REQUEST.</summary>
internal enum FloodVerdict
{
    Admitted,
    Suppressed,

    /// <summary>Suppressed, and the first of a new episode: the caller writes the one "start" line.</summary>
    EpisodeStarted,
}

/// <summary>
/// Tier-0 budget for the frames that write audit lines (HELLO, REATTACH_REQUEST), one per server
/// session (docs/protocol.md "Validation rules"): an authenticated client that floods them gets its
/// excess dropped before any audit write or session work, counted instead of logged. A run of dropped
/// frames is one episode: a line when it starts and one when it has been quiet for
/// <see cref="QuietMs"/>, with the count. Its own lock, so nothing is shared across sessions;
/// allocation-free.
/// </summary>
internal sealed class ControlFloodGuard
{
    /// <summary>
    /// Above the session control bucket (2/s, burst 5: docs/session-spec.md §2.7), so that bucket still answers
    /// and audits its own refusals; far below what a flood sends.
    /// </summary>
    public const int RatePerSecond = 5;

    public const int Burst = 10;

    /// <summary>No dropped frame for this long ends an episode.</summary>
    public const long QuietMs = 2_000;

    private readonly Lock _lock = new();
    private ControlTokenBucket _bucket;
    private bool _episodeOpen;
    private long _episodeSuppressed;
    private long _lastSuppressedMs;
    private long _totalSuppressed;

    /// <summary>Starts with a full bucket (the refill is capped at the burst, so the start time does not matter).</summary>
    public ControlFloodGuard() => _bucket = new ControlTokenBucket(Burst, 0);

    public long TotalSuppressed => Interlocked.Read(ref _totalSuppressed);

    public FloodVerdict Admit(long nowMs)
    {
        lock (_lock)
        {
            if (_bucket.RetryAfterMs(nowMs, RatePerSecond, Burst) == 0)
            {
                _bucket.Consume(nowMs, RatePerSecond, Burst);
                return FloodVerdict.Admitted;
            }
            Interlocked.Increment(ref _totalSuppressed);
            _episodeSuppressed++;
            _lastSuppressedMs = nowMs;
            if (_episodeOpen)
            {
                return FloodVerdict.Suppressed;
            }
            _episodeOpen = true;
            return FloodVerdict.EpisodeStarted;
        }
    }

    /// <summary>Ends an episode that has been quiet for <see cref="QuietMs"/>; its drop count in <paramref name="suppressed"/>.</summary>
    public bool TryEndEpisode(long nowMs, out long suppressed)
    {
        lock (_lock)
        {
            suppressed = _episodeSuppressed;
            if (!_episodeOpen || nowMs - _lastSuppressedMs < QuietMs)
            {
                return false;
            }
            _episodeOpen = false;
            _episodeSuppressed = 0;
            return true;
        }
    }
}
