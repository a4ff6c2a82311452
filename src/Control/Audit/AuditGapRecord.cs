using System.Text.Json;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// <c>AUDIT_GAP</c> (docs/session-spec.md §6.1/6.2): how many events were lost at one point of the stream and, when
/// they belonged to a session, which <c>state_version</c> range they covered, so a reader sees the loss
/// through version contiguity instead of silently missing transitions.
/// </summary>
public sealed class AuditGapRecord : IAuditRecord
{
    public const string Type = "AUDIT_GAP";

    public AuditGapRecord(long tsMs, long droppedCount, string? sessionId, ulong fromVersion, ulong toVersion, string? nodeId)
    {
        TsMs = tsMs;
        DroppedCount = droppedCount;
        SessionId = sessionId;
        FromVersion = fromVersion;
        ToVersion = toVersion;
        NodeId = nodeId;
    }

    public long TsMs { get; }

    public string EventType => Type;

    /// <summary>Null when the dropped events had no session (or were too many sessions to name).</summary>
    public string? SessionId { get; }

    public ulong StateVersion => ToVersion;

    public long DroppedCount { get; }

    /// <summary>Lowest dropped <c>state_version</c>; meaningful only with <see cref="SessionId"/>.</summary>
    public ulong FromVersion { get; }

    /// <summary>Highest dropped <c>state_version</c>; meaningful only with <see cref="SessionId"/>.</summary>
    public ulong ToVersion { get; }

    public string? NodeId { get; }

    public void WriteJson(Utf8JsonWriter writer) => AuditLineWriter.WriteGap(writer, this);
}
