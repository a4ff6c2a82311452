using System.Text;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// The last N audit lines (JSON Lines, docs/session-spec.md §6.2) with a running sequence number, so
/// `jvpn events` can read the recent story and `jvpn events --follow` can poll for what is new since
/// its cursor. Bounded: the oldest lines fall off; a reader whose cursor fell behind is told how many
/// it missed (an AUDIT_GAP line).
/// </summary>
public sealed class AuditTail(string nodeId, int capacity = 2000)
{
    private readonly Lock _lock = new();
    private readonly Queue<(long Seq, string Line)> _lines = new();
    private long _next;

    public string NodeId { get; } = nodeId;

    /// <summary>Raised (outside the lock) for every line, e.g. for a file sink.</summary>
    public event Action<string>? LineWritten;

    /// <summary>
    /// Publishes state-machine events. The machine runs on monotonic milliseconds (its timers must not
    /// jump with the wall clock); <paramref name="wallOffsetMs"/> turns those into Unix ms for ts_ms.
    /// </summary>
    public void Publish(List<AuditEvent> events, long wallOffsetMs)
    {
        foreach (AuditEvent e in events)
        {
            Publish(AuditJsonLines.Format(e with { TsMs = e.TsMs + wallOffsetMs }, NodeId));
        }
    }

    public void Publish(string line)
    {
        lock (_lock)
        {
            _lines.Enqueue((_next++, line));
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
        LineWritten?.Invoke(line);
    }

    /// <summary>Lines with sequence >= <paramref name="cursor"/>; returns the next cursor.</summary>
    public long ReadSince(long cursor, StringBuilder output)
    {
        lock (_lock)
        {
            long oldest = _lines.Count > 0 ? _lines.Peek().Seq : _next;
            if (cursor < oldest && cursor >= 0 && _next > 0 && cursor != oldest)
            {
                output.Append("{\"event_type\":\"AUDIT_GAP\",\"node_id\":\"").Append(NodeId)
                    .Append("\",\"dropped_count\":").Append(oldest - cursor).Append("}\n");
            }
            foreach ((long seq, string line) in _lines)
            {
                if (seq >= cursor)
                {
                    output.Append(line.TrimEnd('\n')).Append('\n');
                }
            }
            return _next;
        }
    }
}
