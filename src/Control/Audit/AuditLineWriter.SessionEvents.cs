using System.Buffers;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Control.Audit;

/// <summary>The state machine's events: base fields, then the fields of the event's type (docs/session-spec.md §6.2 table).</summary>
public static partial class AuditLineWriter
{
    /// <summary>
    /// One <see cref="AuditEvent"/> with <paramref name="nodeId"/> as <c>node_id</c> (the writer's, not the
    /// event's). Payloads, keys and proofs are never part of an event (§6.2 last paragraph).
    /// </summary>
    public static string SessionEvent(in AuditEvent e, string nodeId)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteSessionEvent(w, e, nodeId);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteSessionEvent(Utf8JsonWriter w, in AuditEvent e, string nodeId)
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
