using System.Buffers;
using System.Text;
using System.Text.Json;

namespace JumpingVpn.Control.Audit;

/// <summary>Serializes one record to one JSON Lines line (no terminator).</summary>
internal static class AuditJson
{
    /// <summary>Writes <paramref name="record"/> into <paramref name="buffer"/>; false if it is not exactly one line.</summary>
    public static bool TryWrite(IAuditRecord record, ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer)
    {
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        record.WriteJson(writer);
        writer.Flush();
        ReadOnlySpan<byte> line = buffer.WrittenSpan;
        // JSON Lines: a line break inside the object (possible in raw whitespace) would split the event.
        return line.Length > 0 && line.IndexOfAny((byte)'\n', (byte)'\r') < 0;
    }

    /// <summary>Allocating form for cold paths (gap records, tests).</summary>
    public static string ToLine(IAuditRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(buffer);
        return TryWrite(record, buffer, writer) ? Encoding.UTF8.GetString(buffer.WrittenSpan) : throw new FormatException("audit record is not one JSON line");
    }
}
