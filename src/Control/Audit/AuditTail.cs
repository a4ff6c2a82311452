using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// Where the session layer publishes audit events, and the one reader-facing view of them: the last N
/// lines (JSON Lines, docs/session-spec.md §6.2, written by <see cref="AuditLineWriter"/>) with a running
/// sequence number, so `jvpn events` can read the recent story and `jvpn events --follow` can poll for
/// what is new since its cursor. Bounded: the oldest lines fall off; a reader whose cursor fell behind is
/// told how many it missed (an AUDIT_GAP line). Every line is also raised through <see cref="LineWritten"/>,
/// which feeds the bounded audit pipeline and its file.
/// </summary>
public sealed class AuditTail(string nodeId, int capacity = 2000)
{
    private readonly Lock _lock = new();
    private readonly Queue<(long Seq, string Line)> _lines = new();
    private long _next;

    public string NodeId { get; } = nodeId;

    /// <summary>Raised (outside the lock) for every line, without its terminator, e.g. for a file sink.</summary>
    public event Action<string>? LineWritten;

    /// <summary>
    /// Publishes state-machine events. The machine runs on monotonic milliseconds (its timers must not
    /// jump with the wall clock); <paramref name="wallOffsetMs"/> turns those into Unix ms for ts_ms.
    /// </summary>
    public void Publish(List<AuditEvent> events, long wallOffsetMs)
    {
        foreach (AuditEvent e in events)
        {
            Publish(AuditLineWriter.SessionEvent(e with { TsMs = e.TsMs + wallOffsetMs }, NodeId));
        }
    }

    /// <summary>
    /// Publishes a node event of the jumping layer (<paramref name="eventType"/> with the base fields, then
    /// what <paramref name="extra"/> writes); <paramref name="tsMs"/> is already Unix ms.
    /// </summary>
    public void Publish(long tsMs, string eventType, SessionId sessionId, ulong stateVersion, Action<Utf8JsonWriter>? extra) =>
        Publish(AuditLineWriter.NodeEvent(tsMs, eventType, sessionId, NodeId, stateVersion, extra));

    private void Publish(string line)
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

    /// <summary>Lines with sequence >= <paramref name="cursor"/>, each ended by '\n'; returns the next cursor.</summary>
    public long ReadSince(long cursor, StringBuilder output)
    {
        lock (_lock)
        {
            long oldest = _lines.Count > 0 ? _lines.Peek().Seq : _next;
            if (cursor < oldest && cursor >= 0 && _next > 0 && cursor != oldest)
            {
                output.Append(AuditLineWriter.CursorGap(NodeId, oldest - cursor)).Append('\n');
            }
            foreach ((long seq, string line) in _lines)
            {
                if (seq >= cursor)
                {
                    output.Append(line).Append('\n');
                }
            }
            return _next;
        }
    }
}
