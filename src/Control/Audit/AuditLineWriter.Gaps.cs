using System.Buffers;
using System.Text;
using System.Text.Json;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// The two AUDIT_GAP lines (docs/session-spec.md §6.1/6.2): events the bounded buffer dropped, and lines a
/// <c>jvpn events</c> reader missed because its cursor fell off the tail.
/// </summary>
public static partial class AuditLineWriter
{
    /// <summary>
    /// Loss in the bounded buffer: <c>ts_ms</c>, <c>event_type</c>, then <c>session_id</c>, <c>node_id</c> and
    /// the dropped <c>from_version</c>..<c>to_version</c> where known, and <c>dropped_count</c>.
    /// </summary>
    internal static void WriteGap(Utf8JsonWriter w, AuditGapRecord gap)
    {
        w.WriteStartObject();
        w.WriteNumber("ts_ms"u8, gap.TsMs);
        w.WriteString("event_type"u8, AuditGapRecord.Type);
        if (gap.SessionId is not null)
        {
            w.WriteString("session_id"u8, gap.SessionId);
        }
        if (gap.NodeId is not null)
        {
            w.WriteString("node_id"u8, gap.NodeId);
        }
        if (gap.SessionId is not null)
        {
            w.WriteNumber("from_version"u8, gap.FromVersion);
            w.WriteNumber("to_version"u8, gap.ToVersion);
        }
        w.WriteNumber("dropped_count"u8, gap.DroppedCount);
        w.WriteEndObject();
    }

    /// <summary>
    /// Lines a reader missed because they left the tail before it asked: only <c>event_type</c>,
    /// <c>node_id</c> and <c>dropped_count</c> (the tail keeps no versions of what it let go).
    /// </summary>
    public static string CursorGap(string nodeId, long droppedCount)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event_type"u8, AuditGapRecord.Type);
            w.WriteString("node_id"u8, nodeId);
            w.WriteNumber("dropped_count"u8, droppedCount);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
