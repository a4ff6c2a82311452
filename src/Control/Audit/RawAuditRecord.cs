using System.Text.Json;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// An audit event that is already serialized as one JSON object (no trailing newline). The optional
/// session id and state version let the pipeline name the lost versions in <c>AUDIT_GAP</c> if this
/// record is dropped.
/// </summary>
public sealed class RawAuditRecord : IAuditRecord
{
    public RawAuditRecord(string json, string eventType = "", string? sessionId = null, ulong stateVersion = 0, long tsMs = 0)
    {
        ArgumentNullException.ThrowIfNull(json);
        Json = json;
        EventType = eventType;
        SessionId = sessionId;
        StateVersion = stateVersion;
        TsMs = tsMs;
    }

    public string Json { get; }

    public long TsMs { get; }

    public string EventType { get; }

    public string? SessionId { get; }

    public ulong StateVersion { get; }

    /// <summary>Writes the stored text; Utf8JsonWriter validates it, so a malformed line fails here (a counted sink-side error), not in the file.</summary>
    public void WriteJson(Utf8JsonWriter writer) => writer.WriteRawValue(Json);
}
