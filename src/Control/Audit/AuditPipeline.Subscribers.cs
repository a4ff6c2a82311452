namespace JumpingVpn.Control.Audit;

/// <summary>The in-memory tail (<c>jvpn events</c>) and live subscribers (<c>jvpn events --follow</c>).</summary>
public sealed partial class AuditPipeline
{
    // Guards the tail ring and the subscriber array together, so a subscriber that replays the tail then
    // follows sees every line exactly once.
    private readonly Lock _tailLock = new();
    private readonly string[] _tail;
    private int _tailStart;
    private int _tailCount;
    private AuditSubscription[] _subscribers = [];

    /// <summary>The most recent lines (oldest first), at most <paramref name="max"/> of them.</summary>
    public IReadOnlyList<string> GetTail(int max = int.MaxValue)
    {
        lock (_tailLock)
        {
            return CopyTailLocked(max);
        }
    }

    /// <summary>
    /// Delivers every following line to <paramref name="onLine"/> on a background task, in order. The
    /// subscriber has its own bounded queue (<paramref name="queueCapacity"/>, default from the options):
    /// when it falls behind, lines are dropped for it alone and it receives an AUDIT_GAP line with
    /// <c>"scope":"subscriber"</c> before the next line it gets. With <paramref name="replayTail"/> it
    /// first gets the tail (as much as fits its queue). Dispose the result to stop.
    /// </summary>
    public IDisposable Subscribe(Action<string> onLine, bool replayTail = false, int? queueCapacity = null)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        int capacity = queueCapacity ?? _options.SubscriberQueueCapacity;
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        var subscription = new AuditSubscription(this, onLine, capacity, _options.MaxGapSessions);
        lock (_tailLock)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                subscription.Complete();
                return subscription;
            }
            if (replayTail)
            {
                foreach (string line in CopyTailLocked(capacity))
                {
                    subscription.Enqueue(line);
                }
            }
            _subscribers = [.. _subscribers, subscription];
        }
        return subscription;
    }

    /// <summary>Live subscribers (for status output and tests).</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    internal void Unsubscribe(AuditSubscription subscription)
    {
        lock (_tailLock)
        {
            int i = Array.IndexOf(_subscribers, subscription);
            if (i < 0)
            {
                return;
            }
            var next = new AuditSubscription[_subscribers.Length - 1];
            Array.Copy(_subscribers, 0, next, 0, i);
            Array.Copy(_subscribers, i + 1, next, i, next.Length - i);
            _subscribers = next;
        }
    }

    private List<string> CopyTailLocked(int max)
    {
        int count = Math.Min(max, _tailCount);
        var lines = new List<string>(count);
        for (int i = _tailCount - count; i < _tailCount; i++)
        {
            lines.Add(_tail[(_tailStart + i) % _tail.Length]);
        }
        return lines;
    }

    /// <summary>Consumer thread: append to the tail and offer to every subscriber.</summary>
    private void Distribute(string line, IAuditRecord record)
    {
        AuditSubscription[] subscribers;
        lock (_tailLock)
        {
            if (_tail.Length > 0)
            {
                if (_tailCount < _tail.Length)
                {
                    _tail[(_tailStart + _tailCount) % _tail.Length] = line;
                    _tailCount++;
                }
                else
                {
                    _tail[_tailStart] = line;
                    _tailStart = (_tailStart + 1) % _tail.Length;
                }
            }
            subscribers = _subscribers;
        }
        if (subscribers.Length == 0)
        {
            return;
        }
        long nowMs = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (AuditSubscription subscriber in subscribers)
        {
            subscriber.Offer(line, record, nowMs, _options.NodeId);
        }
    }

    private void FlushSubscriberGaps()
    {
        AuditSubscription[] subscribers = Volatile.Read(ref _subscribers);
        if (subscribers.Length == 0)
        {
            return;
        }
        long nowMs = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (AuditSubscription subscriber in subscribers)
        {
            subscriber.TryFlushGap(nowMs, _options.NodeId);
        }
    }

    private void CompleteSubscribers()
    {
        AuditSubscription[] subscribers;
        lock (_tailLock)
        {
            subscribers = _subscribers;
            _subscribers = [];
        }
        foreach (AuditSubscription subscriber in subscribers)
        {
            subscriber.Complete();
        }
    }
}
