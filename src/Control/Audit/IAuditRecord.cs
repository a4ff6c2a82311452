using System.Text.Json;

namespace JumpingVpn.Control.Audit;

/// <summary>
/// One audit event as the pipeline needs to see it: the few base fields it uses to describe a loss
/// (docs/session-spec.md §6.2 <c>AUDIT_GAP{from_version,to_version,dropped_count}</c>) plus a serializer that writes
/// the whole event as one JSON object (<c>ts_ms</c>, <c>event_type</c>, <c>session_id</c>, ...).
/// </summary>
/// <remarks>
/// The session layer's event model implements this; the pipeline never looks inside beyond these members,
/// so it does not depend on the event schema. <see cref="WriteJson"/> runs on the pipeline's consumer
/// thread, never on the producer's, and must write exactly one JSON object.
/// </remarks>
public interface IAuditRecord
{
    /// <summary>Wall-clock time of the event in Unix milliseconds (<c>ts_ms</c>).</summary>
    long TsMs { get; }

    /// <summary>UPPER_SNAKE event type (<c>event_type</c>), e.g. <c>STATE_CHANGE</c>.</summary>
    string EventType { get; }

    /// <summary>The session the event belongs to, or null for node-wide events.</summary>
    string? SessionId { get; }

    /// <summary>The session's <c>state_version</c> carried by the event (meaningful only with a session id).</summary>
    ulong StateVersion { get; }

    /// <summary>Writes the event as one JSON object.</summary>
    void WriteJson(Utf8JsonWriter writer);
}
