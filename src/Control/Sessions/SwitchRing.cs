namespace JumpingVpn.Control.Sessions;

/// <summary>
/// Times of the last N successful switches, N = max_switches_per_min (docs/session-spec.md §2.7, M7: a sliding
/// 60 s window, not a per-minute counter that allows 2x at the minute edge). Fixed size, allocated once
/// with the session, O(1) check: the cap is reached iff the ring is full and its oldest entry is still
/// inside the window.
/// </summary>
internal sealed partial class SwitchRing
{
    public const long WindowMs = 60_000;

    private readonly long[] _times;
    private int _next;
    private int _count;

    public SwitchRing(int capacity)
    {
        _times = new long[Math.Max(1, capacity)];
    }

    public int Count => _count;

    public bool IsCapped(long nowMs, out uint retryAfterMs)
    {
        retryAfterMs = 0;
        if (_count < _times.Length)
        {
            return false;
        }
        long oldest = _times[_next];
        if (nowMs - oldest >= WindowMs)
        {
            return false;
        }
        retryAfterMs = (uint)(oldest + WindowMs - nowMs);
        return true;
    }

    /// <summary>Successful switches in the sliding window ending at <paramref name="nowMs"/> (for status output).</summary>
    public int CountInWindow(long nowMs)
    {
        int n = 0;
        for (int i = 0; i < _count; i++)
        {
            if (nowMs - _times[i] < WindowMs)
            {
                n++;
            }
        }
        return n;
    }

    public void Push(long nowMs)
    {
        _times[_next] = nowMs;
        _next = (_next + 1) % _times.Length;
        _count = Math.Min(_count + 1, _times.Length);
    }

    /// <summary>Order-sensitive digest of the ring, so snapshots can compare it without copying.</summary>
    public long Digest()
    {
        long h = _count;
        for (int i = 0; i < _count; i++)
        {
            h = (h * 1_000_003) ^ _times[(_next - _count + i + _times.Length) % _times.Length];
        }
        return h;
    }
}
