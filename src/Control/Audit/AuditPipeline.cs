using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// The audit path of docs/design.md §7 / docs/session-spec.md §6.1: producers (session layer, packet loops) hand events to a
/// bounded buffer that never blocks them; one dedicated background thread serializes the events as JSON
/// Lines (<see cref="AuditLineWriter"/>) and writes them to the sinks (the audit file). Readers of the recent
/// lines (<c>jvpn events</c>) use the tail the lines were published through, not this pipeline.
/// </summary>
/// <remarks>
/// Loss is explicit, not silent: when the buffer is full the event is dropped and counted, and the next
/// point where the stream continues gets <c>AUDIT_GAP</c> events (per session, with the dropped
/// <c>from_version</c>..<c>to_version</c> and <c>dropped_count</c>). The gap is placed in the stream by the
/// first producer that succeeds after the drops (it enqueues a marker ahead of its own event), or by the
/// consumer when the buffer runs empty; so a reader sees the gap where the events went missing.
/// A sink that blocks only stalls the consumer (buffer fills, events drop, AUDIT_GAP follows when it
/// recovers); a sink that throws is counted in <see cref="SinkErrorCount"/> and the consumer carries on.
/// </remarks>
public sealed class AuditPipeline : IDisposable
{
    private const int MaxBatch = 256;
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(100);

    private readonly AuditPipelineOptions _options;
    private readonly Channel<object> _channel;
    private readonly IAuditSink[] _sinks;
    private readonly Thread _consumer;

    // Drop accounting. Producers only ever TryEnter this lock: a producer that finds it busy counts its
    // drop in _contendedDrops (no version information) instead of waiting.
    private readonly Lock _gapLock = new();
    private AuditGapTracker _gap;
    private long _contendedDrops;
    private int _gapPending;

    private long _published;
    private long _dropped;
    private long _written;
    private long _sinkErrors;
    private long _recordErrors;
    private Exception? _lastSinkError;
    private int _disposed;

    public AuditPipeline(IEnumerable<IAuditSink> sinks, AuditPipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        _options = options ?? new AuditPipelineOptions();
        _options.Validate();
        _sinks = [.. sinks];
        _gap = new AuditGapTracker(_options.MaxGapSessions);
        _channel = Channel.CreateBounded<object>(new BoundedChannelOptions(_options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite only: "full" means false, never a wait
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
        _consumer = new Thread(Run) { IsBackground = true, Name = "jvpn-audit" };
        _consumer.Start();
    }

    /// <summary>Events accepted into the buffer.</summary>
    public long PublishedCount => Interlocked.Read(ref _published);

    /// <summary>Events dropped because the buffer was full (<c>jvpn_audit_dropped_total</c>).</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Lines handed to the sinks (including generated AUDIT_GAP lines).</summary>
    public long WrittenCount => Interlocked.Read(ref _written);

    /// <summary>
    /// Sink failures: exceptions thrown by sinks plus errors the sinks handled themselves
    /// (<see cref="IAuditSink.ErrorCount"/>) plus records that failed to serialize
    /// (<c>jvpn_audit_sink_errors_total</c>).
    /// </summary>
    public long SinkErrorCount
    {
        get
        {
            long total = Interlocked.Read(ref _sinkErrors) + Interlocked.Read(ref _recordErrors);
            foreach (IAuditSink sink in _sinks)
            {
                total += sink.ErrorCount;
            }
            return total;
        }
    }

    public Exception? LastSinkError => Volatile.Read(ref _lastSinkError);

    /// <summary>
    /// Queues one event. Never blocks and never throws: false means it was dropped (buffer full, or the
    /// pipeline is disposed) and, unless disposed, will be reported by AUDIT_GAP.
    /// </summary>
    public bool TryPublish(IAuditRecord record)
    {
        if (record is null || Volatile.Read(ref _disposed) != 0)
        {
            return false;
        }
        if (Volatile.Read(ref _gapPending) != 0)
        {
            TryEnqueueGapMarker();
        }
        if (_channel.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref _published);
            return true;
        }
        RecordDrop(record);
        return false;
    }

    /// <summary>Queues an already-serialized JSON object (one line, no terminator); see <see cref="RawAuditRecord"/>.</summary>
    public bool TryPublish(string jsonLine, string? sessionId = null, ulong stateVersion = 0)
    {
        if (jsonLine is null || jsonLine.Contains('\n', StringComparison.Ordinal) || jsonLine.Contains('\r', StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _recordErrors);
            return false;
        }
        return TryPublish(new RawAuditRecord(jsonLine, sessionId: sessionId, stateVersion: stateVersion));
    }

    private void RecordDrop(IAuditRecord record)
    {
        Interlocked.Increment(ref _dropped);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        bool tracked = false;
        if (_gapLock.TryEnter())
        {
            try
            {
                _gap.Add(record);
                tracked = true;
            }
            catch (Exception)
            {
                // A record whose properties throw is still a counted loss, just without versions.
            }
            finally
            {
                _gapLock.Exit();
            }
        }
        if (!tracked)
        {
            Interlocked.Increment(ref _contendedDrops);
        }
        Volatile.Write(ref _gapPending, 1);
    }

    /// <summary>
    /// After a drop streak, the first producer that gets the gap lock queues a marker carrying the
    /// accumulated loss ahead of its own event, so AUDIT_GAP lands where the events went missing.
    /// </summary>
    private void TryEnqueueGapMarker()
    {
        if (!_gapLock.TryEnter())
        {
            return;
        }
        try
        {
            AuditGapTracker tracker = TakeGapLocked();
            if (tracker.IsEmpty)
            {
                return;
            }
            if (_channel.Writer.TryWrite(new GapMarker(tracker, _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds())))
            {
                _gap = new AuditGapTracker(_options.MaxGapSessions);
            }
            else
            {
                Volatile.Write(ref _gapPending, 1); // still full: keep accumulating in the same tracker
            }
        }
        finally
        {
            _gapLock.Exit();
        }
    }

    /// <summary>Folds contended drops into the tracker and clears the pending flag; caller holds the lock.</summary>
    private AuditGapTracker TakeGapLocked()
    {
        Volatile.Write(ref _gapPending, 0); // a drop racing with us sets it again
        long contended = Interlocked.Exchange(ref _contendedDrops, 0);
        _gap.AddUntracked(contended);
        return _gap;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _channel.Writer.TryComplete();
        bool drained = _consumer.Join(_options.DisposeTimeout);
        if (drained)
        {
            foreach (IAuditSink sink in _sinks)
            {
                try
                {
                    sink.Dispose();
                }
                catch (Exception e)
                {
                    RecordSinkError(e);
                }
            }
        }
        // else: a sink is stuck inside Write; leave it to the background thread rather than racing it.
    }

    private void RecordSinkError(Exception e)
    {
        Interlocked.Increment(ref _sinkErrors);
        Volatile.Write(ref _lastSinkError, e);
    }

    private sealed class GapMarker(AuditGapTracker tracker, long tsMs)
    {
        public AuditGapTracker Tracker { get; } = tracker;

        public long TsMs { get; } = tsMs;
    }

    // ---- consumer thread ------------------------------------------------------------------------------

    private readonly ArrayBufferWriter<byte> _lineBuffer = new(1024);
    private Utf8JsonWriter? _jsonWriter;

    private void Run()
    {
        _jsonWriter = new Utf8JsonWriter(_lineBuffer);
        ChannelReader<object> reader = _channel.Reader;
        while (true)
        {
            int n = 0;
            while (n < MaxBatch && reader.TryRead(out object? item))
            {
                Process(item);
                n++;
            }
            if (n == MaxBatch)
            {
                FlushSinks();
                continue;
            }
            // Buffer empty: report a loss no producer has placed yet, then end the batch.
            FlushIdleGap();
            FlushSinks();
            bool? more = WaitToRead(reader);
            if (more == false)
            {
                break;
            }
        }
        FlushIdleGap();
        FlushSinks();
        _jsonWriter.Dispose();
    }

    private Task<bool>? _wait;

    /// <summary>
    /// True when there is data, false when completed, null after <see cref="IdlePoll"/> without either: a
    /// producer's drop can land just after the idle gap check, and with no later event nothing else would
    /// wake the consumer to report it.
    /// </summary>
    private bool? WaitToRead(ChannelReader<object> reader)
    {
        try
        {
            if (_wait is null)
            {
                ValueTask<bool> wait = reader.WaitToReadAsync();
                if (wait.IsCompletedSuccessfully)
                {
                    return wait.Result;
                }
                _wait = wait.AsTask();
            }
            if (!_wait.Wait(IdlePoll))
            {
                return null; // keep the same wait for the next round
            }
            bool result = _wait.Result;
            _wait = null;
            return result;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private void Process(object item)
    {
        if (item is GapMarker marker)
        {
            EmitGaps(marker.Tracker, marker.TsMs);
        }
        else
        {
            Emit((IAuditRecord)item);
        }
    }

    private void FlushIdleGap()
    {
        if (Volatile.Read(ref _gapPending) == 0)
        {
            return;
        }
        AuditGapTracker tracker;
        lock (_gapLock)
        {
            tracker = TakeGapLocked();
            if (tracker.IsEmpty)
            {
                return;
            }
            _gap = new AuditGapTracker(_options.MaxGapSessions);
        }
        EmitGaps(tracker, _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
    }

    private void EmitGaps(AuditGapTracker tracker, long tsMs)
    {
        foreach (AuditGapRecord gap in tracker.Drain(tsMs, _options.NodeId))
        {
            Emit(gap);
        }
    }

    private void Emit(IAuditRecord record)
    {
        bool ok;
        try
        {
            ok = AuditLineWriter.TryWriteLine(record, _lineBuffer, _jsonWriter!);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _lastSinkError, e);
            ok = false;
        }
        if (!ok)
        {
            Interlocked.Increment(ref _recordErrors);
            return;
        }
        ReadOnlySpan<byte> line = _lineBuffer.WrittenSpan;
        foreach (IAuditSink sink in _sinks)
        {
            try
            {
                sink.Write(line);
            }
            catch (Exception e)
            {
                RecordSinkError(e);
            }
        }
        Interlocked.Increment(ref _written);
    }

    private void FlushSinks()
    {
        foreach (IAuditSink sink in _sinks)
        {
            try
            {
                sink.Flush();
            }
            catch (Exception e)
            {
                RecordSinkError(e);
            }
        }
    }
}
