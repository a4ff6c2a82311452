using System.Text.Json;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

public sealed class SessionAuditLinesTests
{
    private static SessionHarness Story()
    {
        var h = new SessionHarness();
        h.Apply(SessionEvent.HandshakeConfirmed(SessionHarness.A, h.NextSeq++));
        h.Now += 1_000;
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Now += 250;
        h.Reattach(SessionHarness.B, ReasonCode.NatRebind, lastAcked: 1);
        h.Now += 100;
        h.Apply(SessionEvent.ClientTerminate(h.NextSeq++));
        return h;
    }

    [Fact]
    public void SessionStoryIsPrintedExactly()
    {
        string[] lines = Story().Jsonl().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        const string Head = "\"session_id\":\"a102030405060708090a0b0c0d0e0f16\",\"node_id\":\"node-1\",\"policy_version\":\"1\"";
        Assert.Equal(
        [
            $$"""{"ts_ms":1000,"event_type":"SESSION_CREATED",{{Head}},"state_version":0,"state":"BIRTH"}""",
            $$"""{"ts_ms":1000,"event_type":"STATE_CHANGE",{{Head}},"state_version":1,"previous_state":"BIRTH","new_state":"ATTACHED","reason_code":"HANDSHAKE_OK"}""",
            $$"""{"ts_ms":1000,"event_type":"TRANSPORT_ATTACHED",{{Head}},"state_version":1,"remote":"192.0.2.10:40000"}""",
            $$"""{"ts_ms":2000,"event_type":"STATE_CHANGE",{{Head}},"state_version":2,"previous_state":"ATTACHED","new_state":"RECOVERING","reason_code":"TRANSPORT_DEAD"}""",
            $$"""{"ts_ms":2250,"event_type":"REATTACH_ATTEMPT",{{Head}},"state_version":2,"candidate_transport":"198.51.100.20:40001","switch_reason":"NAT_REBIND","recovery_deadline_ms":10000}""",
            $$"""{"ts_ms":2250,"event_type":"STATE_CHANGE",{{Head}},"state_version":3,"previous_state":"RECOVERING","new_state":"ATTACHED","reason_code":"REATTACH_SUCCESS","detail_code":"NAT_REBIND"}""",
            $$"""{"ts_ms":2250,"event_type":"TRANSPORT_SWITCH",{{Head}},"state_version":3,"previous_transport":null,"new_transport":"198.51.100.20:40001","switch_reason":"NAT_REBIND","total_switches":1,"explicit":true}""",
            $$"""{"ts_ms":2250,"event_type":"REATTACH_RESULT",{{Head}},"state_version":3,"status":"SUCCESS","reason_code":"REATTACH_SUCCESS","candidate_transport":"198.51.100.20:40001"}""",
            $$"""{"ts_ms":2350,"event_type":"STATE_CHANGE",{{Head}},"state_version":4,"previous_state":"ATTACHED","new_state":"TERMINATED","reason_code":"CLIENT_TERMINATED"}""",
            $$"""{"ts_ms":2350,"event_type":"SESSION_TERMINATED",{{Head}},"state_version":4,"reason_code":"CLIENT_TERMINATED","session_age_ms":1350,"transportless_age_ms":0,"total_switches":1}""",
        ], lines);
    }

    [Fact]
    public void EveryLineIsOneJsonObjectWithTheBaseFields()
    {
        foreach (string line in Story().Jsonl().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            foreach (string field in new[] { "ts_ms", "event_type", "session_id", "node_id", "policy_version", "state_version" })
            {
                Assert.True(doc.RootElement.TryGetProperty(field, out _), $"{field} missing in {line}");
            }
        }
    }

    [Fact]
    public void AuditGapAndSecurityEventsSerialize()
    {
        var gap = new AuditEvent { Type = AuditEventType.AuditGap, SessionId = SessionHarness.Id, PolicyVersion = "1", FromVersion = 4, ToVersion = 9, DroppedCount = 12, TsMs = 5 };
        Assert.EndsWith("\"from_version\":4,\"to_version\":9,\"dropped_count\":12}", AuditLineWriter.SessionEvent(gap, "n"), StringComparison.Ordinal);
        var sec = new AuditEvent { Type = AuditEventType.SecurityEvent, SessionId = SessionHarness.Id, PolicyVersion = "1", Reason = ReasonCode.ReplayDetected };
        Assert.Contains("\"violation_type\":\"REPLAY_DETECTED\"", AuditLineWriter.SessionEvent(sec, "n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ReasonCode.TransportLossTtlExpired, "TRANSPORT_LOSS_TTL_EXPIRED")]
    [InlineData(ReasonCode.HandshakeOk, "HANDSHAKE_OK")]
    [InlineData(ReasonCode.NatRebind, "NAT_REBIND")]
    [InlineData(ReasonCode.StaleStateVersion, "STALE_STATE_VERSION")]
    [InlineData((ReasonCode)999, "UNKNOWN")]
    public void ReasonCodesPrintUpperSnake(ReasonCode code, string text) => Assert.Equal(text, WireNames.Of(code));

    [Fact]
    public void EveryReasonCodeHasAUniqueName()
    {
        var names = Enum.GetValues<ReasonCode>().Select(WireNames.Of).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[A-Z]+(_[A-Z]+)*$", n));
    }
}
