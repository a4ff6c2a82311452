using System.Threading.Channels;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// One live reader of the audit stream: a bounded queue filled by the pipeline's consumer thread and
/// drained by its own task, so a slow reader (a stalled control-socket client) loses lines for itself
/// only, and learns it through an AUDIT_GAP line with <c>"scope":"subscriber"</c>.
/// </summary>
internal sealed class AuditSubscription : IDisposable
{
    private readonly AuditPipeline _pipeline;
    private readonly Action<string> _onLine;
    private readonly int _capacity;
    private readonly Channel<string> _queue;
    private readonly AuditGapTracker _gap; // consumer thread only
    private long _dropped;
    private long _callbackErrors;
    private int _disposed;

    public AuditSubscription(AuditPipeline pipeline, Action<string> onLine, int capacity, int maxGapSessions)
    {
        _pipeline = pipeline;
        _onLine = onLine;
        _capacity = capacity;
        _gap = new AuditGapTracker(maxGapSessions);
        _queue = Channel.CreateBounded<string>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        });
        Pump = Task.Run(PumpAsync);
    }

    public Task Pump { get; }

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public long CallbackErrorCount => Interlocked.Read(ref _callbackErrors);

    /// <summary>Before the subscription is visible to the consumer (tail replay).</summary>
    public void Enqueue(string line) => _queue.Writer.TryWrite(line);

    /// <summary>
    /// Consumer thread. A pending gap and the new line go in together or not at all, so the gap line
    /// always precedes the first line after the loss.
    /// </summary>
    public void Offer(string line, IAuditRecord record, long nowMs, string? nodeId)
    {
        int needed = _gap.EntryCount + 1;
        if (FreeSlots < needed || !WriteGap(nowMs, nodeId) || !_queue.Writer.TryWrite(line))
        {
            _gap.Add(record);
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Consumer thread, when the stream is idle: deliver a pending gap if there is room.</summary>
    public void TryFlushGap(long nowMs, string? nodeId)
    {
        if (!_gap.IsEmpty && FreeSlots >= _gap.EntryCount)
        {
            WriteGap(nowMs, nodeId);
        }
    }

    // Only the consumer writes after registration and the reader only removes, so this never overstates.
    private int FreeSlots => _capacity - _queue.Reader.Count;

    /// <summary>Lines waiting for the subscriber's callback.</summary>
    internal int QueuedCount => _queue.Reader.Count;

    private bool WriteGap(long nowMs, string? nodeId)
    {
        if (_gap.IsEmpty)
        {
            return true;
        }
        foreach (AuditGapRecord gap in _gap.Drain(nowMs, nodeId, scope: "subscriber"))
        {
            if (!_queue.Writer.TryWrite(AuditJson.ToLine(gap)))
            {
                return false; // completed (disposed); nothing more to deliver
            }
        }
        return true;
    }

    private async Task PumpAsync()
    {
        await foreach (string line in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }
            try
            {
                _onLine(line);
            }
            catch (Exception)
            {
                // The reader's failure (e.g. its socket closed) is its own; the stream goes on.
                Interlocked.Increment(ref _callbackErrors);
            }
        }
    }

    public void Complete() => _queue.Writer.TryComplete();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _pipeline.Unsubscribe(this);
        Complete();
    }
}
