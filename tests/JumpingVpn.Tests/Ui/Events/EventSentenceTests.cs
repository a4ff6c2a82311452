using System.Text.Json;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.Tunnel.Timeline;

namespace JumpingVpn.Tests.Ui.Events;

/// <summary>
/// Audit lines as the sentences the Events page and the switches list show (docs/ui.md "Events"), from lines in the
/// shapes the daemon writes (docs/session-spec.md §6.2, docs/paths.md).
/// </summary>
public sealed class EventSentenceTests
{
    private static (string Kind, string Text) Render(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return EventSentence.Render(doc.RootElement);
    }

    [Theory]
    [InlineData("wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 58, "wlan0 lost → moved to cell0 in 58 ms")]
    [InlineData("wlan0", "cell0", "LOSS_RECOVERY", 120, "wlan0 losing packets → moved to cell0 in 120 ms")]
    [InlineData("cell0", "eth0", "PREFERRED_PATH_CHANGED", 0, "eth0 preferred → moved from cell0 in 0 ms")]
    [InlineData("wlan0", "cell0", "NAT_REBIND", 30, "wlan0 address changed (NAT) → moved to cell0 in 30 ms")]
    [InlineData("wlan0", "cell0", "POLICY_FORCED", 5, "policy moved the tunnel from wlan0 to cell0 in 5 ms")]
    [InlineData("wlan0", "cell0", "SOMETHING_NEW", 12_345, "wlan0 → moved to cell0 (something new) in 12.3 s")]
    [InlineData("", "cell0", "TRANSPORT_DEAD_RECOVERY", 900, "tunnel moved to cell0 in 900 ms")]
    public void Switch_sentences_name_the_links_the_reason_and_the_gap(string from, string to, string reason, long gap, string expected) =>
        Assert.Equal(expected, SwitchSentence.Describe(from, to, reason, gap));

    [Fact]
    public void A_switched_path_decision_reads_as_the_switch_with_its_gap()
    {
        (string kind, string text) = Render("""
            {"ts_ms":1764201600000,"event_type":"PATH_DECISION","session_id":"0a1b","node_id":"c","state_version":4,
             "decision":"switched","interface":"cell0","from_interface":"wlan0","reason_code":"TRANSPORT_DEAD_RECOVERY","detail":"gap_ms=58"}
            """);

        Assert.Equal("switch", kind);
        Assert.Equal("wlan0 lost → moved to cell0 in 58 ms", text);
    }

    [Theory]
    [InlineData("""{"event_type":"PATH_DECISION","decision":"path_dead","interface":"wlan0","reason_code":"","detail":"no reply for 1000 ms"}""", "path", "wlan0 stopped answering (no reply for 1000 ms)")]
    [InlineData("""{"event_type":"PATH_DECISION","decision":"path_added","interface":"cell0","reason_code":"","detail":""}""", "path", "cell0 appeared")]
    [InlineData("""{"event_type":"PATH_DECISION","decision":"switch","interface":"cell0","from_interface":"wlan0","reason_code":"TRANSPORT_DEAD_RECOVERY","detail":"","score":90.5}""", "switch", "switching from wlan0 to cell0 (transport dead recovery)")]
    [InlineData("""{"event_type":"PATH_DECISION","decision":"brand_new","interface":"cell0","reason_code":"","detail":""}""", "path", "brand new on cell0")]
    [InlineData("""{"event_type":"REATTACH_RESULT","status":"SUCCESS","interface":"cell0","switch_latency_ms":21,"from_interface":"wlan0","switch_reason":"TRANSPORT_DEAD_RECOVERY","gap_ms":58}""", "switch", "wlan0 lost → moved to cell0 in 58 ms (server confirmed)")]
    [InlineData("""{"event_type":"REATTACH_RESULT","status":"SUCCESS","switch_latency_ms":21}""", "switch", "reattached in 21 ms")]
    [InlineData("""{"event_type":"REATTACH_RESULT","status":"DENIED","interface":"cell0","reason_code":"COOLDOWN_ACTIVE"}""", "session", "reattach on cell0 refused: cooldown active")]
    [InlineData("""{"event_type":"REATTACH_ATTEMPT","switch_reason":"TRANSPORT_DEAD_RECOVERY","attempt":3}""", "session", "reattaching (transport dead recovery, attempt 3)")]
    [InlineData("""{"event_type":"TRANSPORT_DEAD","silent_ms":4000}""", "session", "no answer from the server for 4000 ms: looking for it")]
    [InlineData("""{"event_type":"STATE_CHANGE","previous_state":"ATTACHED","new_state":"RECOVERING","reason_code":"TRANSPORT_DEAD"}""", "session", "session attached → recovering (transport dead)")]
    [InlineData("""{"event_type":"SESSION_TERMINATED","reason_code":"TRANSPORT_LOSS_TTL_EXPIRED","silent_ms":61000}""", "session", "session ended (transport loss ttl expired)")]
    [InlineData("""{"event_type":"SERVER_FAILOVER","previous_endpoint":"198.51.100.1:51820","new_endpoint":"198.51.100.2:51820","detail_code":"PATH_DEAD"}""", "cluster", "server 198.51.100.1:51820 silent → trying 198.51.100.2:51820 (path dead)")]
    [InlineData("""{"event_type":"SESSION_MOVED","previous_owner_node_id":"n1","owner_node_id":"n2","owner_epoch":3}""", "cluster", "session moved from node n1 to node n2")]
    [InlineData("""{"event_type":"SESSION_FENCED"}""", "cluster", "session fenced")]
    [InlineData("""{"event_type":"SECURITY_EVENT","violation_type":"REPLAY_DETECTED"}""", "security", "security: replay detected")]
    [InlineData("""{"event_type":"AUDIT_GAP","node_id":"c","dropped_count":17}""", "gap", "17 event(s) were missed (the daemon keeps the most recent only)")]
    [InlineData("""{"event_type":"SOMETHING_ELSE"}""", "other", "something else")]
    [InlineData("""{"ts_ms":1}""", "other", "event without a type")]
    public void Audit_lines_read_as_sentences_of_a_kind(string json, string kind, string text) =>
        Assert.Equal((kind, text), Render(json));

    [Fact]
    public void A_field_of_the_wrong_type_does_not_throw()
    {
        (string kind, string text) = Render("""{"event_type":"TRANSPORT_DEAD","silent_ms":"soon"}""");

        Assert.Equal("session", kind);
        Assert.Equal("no answer from the server for 0 ms: looking for it", text);
    }
}
