using System.Buffers;
using System.Text.Json;

namespace JumpingVpn.Control.Sessions;

/// <summary>
/// JSON Lines form of <see cref="AuditEvent"/> (docs/session-spec.md §6.2): one object per line, fields in a fixed
/// order, UPPER_SNAKE names, integers only (no floats, no culture), so the same events always give the
/// same bytes (I7: determinism is checked by comparing these bytes). Payloads, keys and proofs are never
/// part of an event (§6.2 last paragraph).
/// </summary>
public static class AuditJsonLines
{
    private static readonly JsonWriterOptions s_options = new() { Indented = false, SkipValidation = false };

    /// <summary>Appends one line (object + '\n') to <paramref name="output"/>.</summary>
    public static void Write(in AuditEvent e, string nodeId, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        using (var w = new Utf8JsonWriter(output, s_options))
        {
            WriteObject(w, e, nodeId);
        }
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }

    public static string Format(in AuditEvent e, string nodeId)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(e, nodeId, buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string Format(IEnumerable<AuditEvent> events, string nodeId)
    {
        ArgumentNullException.ThrowIfNull(events);
        var buffer = new ArrayBufferWriter<byte>(4096);
        foreach (AuditEvent e in events)
        {
            Write(e, nodeId, buffer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteObject(Utf8JsonWriter w, in AuditEvent e, string nodeId)
    {
        w.WriteStartObject();
        w.WriteNumber("ts_ms"u8, e.TsMs);
        w.WriteString("event_type"u8, WireNames.Of(e.Type));
        w.WriteString("session_id"u8, e.SessionId.ToString());
        w.WriteString("node_id"u8, nodeId);
        w.WriteString("policy_version"u8, e.PolicyVersion);
        w.WriteNumber("state_version"u8, e.StateVersion);
        switch (e.Type)
        {
            case AuditEventType.SessionCreated:
                w.WriteString("state"u8, WireNames.Of(e.NewState));
                break;
            case AuditEventType.StateChange:
                w.WriteString("previous_state"u8, WireNames.Of(e.PreviousState));
                w.WriteString("new_state"u8, WireNames.Of(e.NewState));
                w.WriteString("reason_code"u8, WireNames.Of(e.Reason));
                if (e.Detail != ReasonCode.None)
                {
                    w.WriteString("detail_code"u8, WireNames.Of(e.Detail));
                }
                break;
            case AuditEventType.TransportAttached:
                Transport(w, "remote"u8, e.NewTransport);
                break;
            case AuditEventType.TransportSwitch:
                Transport(w, "previous_transport"u8, e.PreviousTransport);
                Transport(w, "new_transport"u8, e.NewTransport);
                w.WriteString("switch_reason"u8, WireNames.Of(e.Detail));
                w.WriteNumber("total_switches"u8, e.TotalSwitches);
                w.WriteBoolean("explicit"u8, true);
                break;
            case AuditEventType.TransportSwitchDenied:
                w.WriteString("reason_code"u8, WireNames.Of(e.Reason));
                w.WriteNumber("retry_after_ms"u8, e.RetryAfterMs);
                Transport(w, "candidate_transport"u8, e.NewTransport);
                break;
            case AuditEventType.ReattachAttempt:
                Transport(w, "candidate_transport"u8, e.NewTransport);
                w.WriteString("switch_reason"u8, WireNames.Of(e.Detail));
                if (e.RecoveryDeadlineMs >= 0)
                {
                    w.WriteNumber("recovery_deadline_ms"u8, e.RecoveryDeadlineMs);
                }
                break;
            case AuditEventType.ReattachResult:
                w.WriteString("status"u8, e.Success ? "SUCCESS" : "DENIED");
                w.WriteString("reason_code"u8, WireNames.Of(e.Reason));
                if (e.RetryAfterMs > 0)
                {
                    w.WriteNumber("retry_after_ms"u8, e.RetryAfterMs);
                }
                Transport(w, "candidate_transport"u8, e.NewTransport);
                break;
            case AuditEventType.SessionTerminated:
                w.WriteString("reason_code"u8, WireNames.Of(e.Reason));
                w.WriteNumber("session_age_ms"u8, e.SessionAgeMs);
                w.WriteNumber("transportless_age_ms"u8, e.TransportlessAgeMs);
                w.WriteNumber("total_switches"u8, e.TotalSwitches);
                break;
            case AuditEventType.SecurityEvent:
                w.WriteString("violation_type"u8, WireNames.Of(e.Reason));
                break;
            case AuditEventType.AuditGap:
                w.WriteNumber("from_version"u8, e.FromVersion);
                w.WriteNumber("to_version"u8, e.ToVersion);
                w.WriteNumber("dropped_count"u8, e.DroppedCount);
                break;
            default:
                break;
        }
        w.WriteEndObject();
    }

    private static void Transport(Utf8JsonWriter w, ReadOnlySpan<byte> name, TransportAddress? address)
    {
        if (address is { } a)
        {
            w.WriteString(name, a.ToString());
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
