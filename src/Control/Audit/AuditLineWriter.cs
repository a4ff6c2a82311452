using System.Buffers;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// The one serializer of audit lines (docs/session-spec.md §6.2): every line of the audit file, of the
/// <c>jvpn_events=1</c> reply and so of <c>jvpn events</c> is written here. One JSON object per line, fields
/// in a fixed order, integers only, the default escaping, so the same event always gives the same bytes
/// (I7: determinism is checked by comparing these bytes). A line is returned without its terminator; the
/// tail and the file sink add the <c>\n</c>.
/// </summary>
/// <remarks>
/// Four forms: the state machine's events (<see cref="SessionEvent"/>), the jumping layer's node events
/// (<see cref="NodeEvent"/>), the AUDIT_GAP of the bounded buffer (<see cref="AuditGapRecord"/>) and the
/// AUDIT_GAP of a reader whose cursor fell off the tail (<see cref="CursorGap"/>). Audit is a cold path:
/// the allocating forms run on the publishing thread, <see cref="TryWriteLine"/> reuses the audit
/// thread's buffer.
/// </remarks>
public static partial class AuditLineWriter
{
    /// <summary>
    /// A node event: the base fields <c>ts_ms</c>, <c>event_type</c>, <c>session_id</c>, <c>node_id</c>,
    /// <c>state_version</c>, then whatever <paramref name="extra"/> writes (docs/session-spec.md §6.2, the
    /// operational lines after the table).
    /// </summary>
    public static string NodeEvent(long tsMs, string eventType, SessionId sessionId, string nodeId, ulong stateVersion, Action<Utf8JsonWriter>? extra)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("ts_ms"u8, tsMs);
            w.WriteString("event_type"u8, eventType);
            w.WriteString("session_id"u8, sessionId.ToString());
            w.WriteString("node_id"u8, nodeId);
            w.WriteNumber("state_version"u8, stateVersion);
            extra?.Invoke(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The audit thread's form: writes <paramref name="record"/> into <paramref name="buffer"/> (reset first);
    /// false if it is not exactly one line.
    /// </summary>
    internal static bool TryWriteLine(IAuditRecord record, ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer)
    {
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        record.WriteJson(writer);
        writer.Flush();
        ReadOnlySpan<byte> line = buffer.WrittenSpan;
        // JSON Lines: a line break inside the object (possible in raw whitespace) would split the event.
        return line.Length > 0 && line.IndexOfAny((byte)'\n', (byte)'\r') < 0;
    }
}
