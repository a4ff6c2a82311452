using System.Net;
using System.Text;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Tunnel.Device;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Audit;

/// <summary>
/// Every audit line format in use, byte for byte (docs/session-spec.md §6.2): the session events, the
/// node events the jumping layer writes, the AUDIT_GAP of the bounded buffer and of a reader whose cursor
/// fell behind, the <c>jvpn_events=1</c> body and the audit file. <c>jvpn events</c>, the load generator's
/// audit check and the end-to-end tests parse these lines, so a change here is a format change.
/// </summary>
public sealed class AuditLineGoldenTests
{
    private const string Sid = "a102030405060708090a0b0c0d0e0f16";
    private static readonly SessionId Id = SessionId.Read([0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x16]);
    private static readonly TransportAddress A = TransportAddress.Parse("192.0.2.10:40000");
    private static readonly TransportAddress C = TransportAddress.Parse("[2001:db8::30]:40002");

    private static AuditEvent E(AuditEventType type, ulong version) =>
        new() { Type = type, SessionId = Id, PolicyVersion = "7", StateVersion = version, TsMs = 500 };

    /// <summary>One event of each session event type, with the optional fields both present and absent.</summary>
    private static List<AuditEvent> EveryKind() =>
    [
        E(AuditEventType.SessionCreated, 0) with { NewState = SessionState.Birth },
        E(AuditEventType.StateChange, 1) with { PreviousState = SessionState.Birth, NewState = SessionState.Attached, Reason = ReasonCode.HandshakeOk },
        E(AuditEventType.StateChange, 2) with { PreviousState = SessionState.Attached, NewState = SessionState.Recovering, Reason = ReasonCode.TransportDead, Detail = ReasonCode.NatRebind },
        E(AuditEventType.TransportAttached, 2) with { NewTransport = A },
        E(AuditEventType.TransportSwitch, 3) with { PreviousTransport = A, NewTransport = C, Detail = ReasonCode.NatRebind, TotalSwitches = 2 },
        E(AuditEventType.TransportSwitch, 3) with { NewTransport = C, Detail = ReasonCode.NatRebind, TotalSwitches = 1 },
        E(AuditEventType.TransportSwitchDenied, 3) with { Reason = ReasonCode.SwitchRateLimited, RetryAfterMs = 1500, NewTransport = A },
        E(AuditEventType.ReattachAttempt, 3) with { NewTransport = C, Detail = ReasonCode.NatRebind, RecoveryDeadlineMs = 10_000 },
        E(AuditEventType.ReattachAttempt, 3) with { NewTransport = null, Detail = ReasonCode.NatRebind, RecoveryDeadlineMs = -1 },
        E(AuditEventType.ReattachResult, 4) with { Success = true, Reason = ReasonCode.ReattachSuccess, NewTransport = C },
        E(AuditEventType.ReattachResult, 4) with { Success = false, Reason = ReasonCode.SwitchRateLimited, RetryAfterMs = 250, NewTransport = A },
        E(AuditEventType.SessionTerminated, 5) with { Reason = ReasonCode.ClientTerminated, SessionAgeMs = 1350, TransportlessAgeMs = 20, TotalSwitches = 2 },
        E(AuditEventType.SecurityEvent, 5) with { Reason = ReasonCode.ReplayDetected },
        E(AuditEventType.AuditGap, 9) with { FromVersion = 4, ToVersion = 9, DroppedCount = 12 },
    ];

    private const string Head = "\"session_id\":\"" + Sid + "\",\"node_id\":\"node-1\",\"policy_version\":\"7\"";

    private static readonly string[] EveryKindLines =
    [
        $$"""{"ts_ms":1500,"event_type":"SESSION_CREATED",{{Head}},"state_version":0,"state":"BIRTH"}""",
        $$"""{"ts_ms":1500,"event_type":"STATE_CHANGE",{{Head}},"state_version":1,"previous_state":"BIRTH","new_state":"ATTACHED","reason_code":"HANDSHAKE_OK"}""",
        $$"""{"ts_ms":1500,"event_type":"STATE_CHANGE",{{Head}},"state_version":2,"previous_state":"ATTACHED","new_state":"RECOVERING","reason_code":"TRANSPORT_DEAD","detail_code":"NAT_REBIND"}""",
        $$"""{"ts_ms":1500,"event_type":"TRANSPORT_ATTACHED",{{Head}},"state_version":2,"remote":"192.0.2.10:40000"}""",
        $$"""{"ts_ms":1500,"event_type":"TRANSPORT_SWITCH",{{Head}},"state_version":3,"previous_transport":"192.0.2.10:40000","new_transport":"[2001:db8::30]:40002","switch_reason":"NAT_REBIND","total_switches":2,"explicit":true}""",
        $$"""{"ts_ms":1500,"event_type":"TRANSPORT_SWITCH",{{Head}},"state_version":3,"previous_transport":null,"new_transport":"[2001:db8::30]:40002","switch_reason":"NAT_REBIND","total_switches":1,"explicit":true}""",
        $$"""{"ts_ms":1500,"event_type":"TRANSPORT_SWITCH_DENIED",{{Head}},"state_version":3,"reason_code":"SWITCH_RATE_LIMITED","retry_after_ms":1500,"candidate_transport":"192.0.2.10:40000"}""",
        $$"""{"ts_ms":1500,"event_type":"REATTACH_ATTEMPT",{{Head}},"state_version":3,"candidate_transport":"[2001:db8::30]:40002","switch_reason":"NAT_REBIND","recovery_deadline_ms":10000}""",
        $$"""{"ts_ms":1500,"event_type":"REATTACH_ATTEMPT",{{Head}},"state_version":3,"candidate_transport":null,"switch_reason":"NAT_REBIND"}""",
        $$"""{"ts_ms":1500,"event_type":"REATTACH_RESULT",{{Head}},"state_version":4,"status":"SUCCESS","reason_code":"REATTACH_SUCCESS","candidate_transport":"[2001:db8::30]:40002"}""",
        $$"""{"ts_ms":1500,"event_type":"REATTACH_RESULT",{{Head}},"state_version":4,"status":"DENIED","reason_code":"SWITCH_RATE_LIMITED","retry_after_ms":250,"candidate_transport":"192.0.2.10:40000"}""",
        $$"""{"ts_ms":1500,"event_type":"SESSION_TERMINATED",{{Head}},"state_version":5,"reason_code":"CLIENT_TERMINATED","session_age_ms":1350,"transportless_age_ms":20,"total_switches":2}""",
        $$"""{"ts_ms":1500,"event_type":"SECURITY_EVENT",{{Head}},"state_version":5,"violation_type":"REPLAY_DETECTED"}""",
        $$"""{"ts_ms":1500,"event_type":"AUDIT_GAP",{{Head}},"state_version":9,"from_version":4,"to_version":9,"dropped_count":12}""",
    ];

    private static string ReadAll(AuditTail tail, long cursor = 0)
    {
        var sb = new StringBuilder();
        long next = tail.ReadSince(cursor, sb);
        return sb.Append("cursor=").Append(next).Append('\n').ToString();
    }

    [Fact]
    public void Session_events_of_every_kind_read_back_byte_for_byte_with_the_wall_offset_applied()
    {
        var tail = new AuditTail("node-1");
        tail.Publish(EveryKind(), wallOffsetMs: 1000);

        Assert.Equal(string.Join('\n', EveryKindLines) + "\ncursor=14\n", ReadAll(tail));
    }

    [Fact]
    public void A_reader_behind_the_tail_gets_the_tail_gap_line_then_what_is_left()
    {
        var tail = new AuditTail("node-1", capacity: 3);
        tail.Publish(EveryKind()[..5], wallOffsetMs: 1000);

        Assert.Equal(
            """{"event_type":"AUDIT_GAP","node_id":"node-1","dropped_count":2}""" + "\n"
            + string.Join('\n', EveryKindLines[2..5]) + "\ncursor=5\n",
            ReadAll(tail));
        Assert.Equal(EveryKindLines[4] + "\ncursor=5\n", ReadAll(tail, cursor: 4));
        Assert.Equal("cursor=5\n", ReadAll(tail, cursor: 5));
    }

    /// <summary>The default node id is HOST/INTERFACE; the slash is written as is in every form.</summary>
    [Fact]
    public void A_default_node_id_is_written_unescaped_in_the_cursor_gap_and_the_events()
    {
        var tail = new AuditTail("host-1/wg0", capacity: 1);
        tail.Publish(EveryKind()[..2], wallOffsetMs: 1000);

        Assert.Equal(
            """{"event_type":"AUDIT_GAP","node_id":"host-1/wg0","dropped_count":1}""" + "\n"
            + EveryKindLines[1].Replace("\"node-1\"", "\"host-1/wg0\"", StringComparison.Ordinal) + "\ncursor=2\n",
            ReadAll(tail));
    }

    [Fact]
    public void An_empty_tail_reads_as_the_cursor_alone()
    {
        Assert.Equal("cursor=0\n", ReadAll(new AuditTail("node-1")));
    }

    /// <summary>The node events of the jumping layer (SESSION_ESTABLISHED and the like), on a manual clock.</summary>
    [Fact]
    public void Node_events_of_a_connect_read_back_byte_for_byte()
    {
        var t = new TwoDevices();
        var random = new DeterministicRandom(3);
        var client = new JumpingNode(t.A, SessionPolicy.Default, [t.PeerBOnA], new AuditTail("client"), NullLogger.Instance, t.Clock, random.Fill);
        var server = new JumpingNode(t.B, SessionPolicy.Default, [], new AuditTail("server"), NullLogger.Instance, t.Clock, random.Fill);
        client.Attach();
        server.Attach();
        TwoDevices.Encapsulate(t.A, TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", 1));
        for (int round = 0; round < 10; round++)
        {
            foreach ((byte[] d, _) in t.WireA.Drain())
            {
                Deliver(t.B, d, t.AddrA);
            }
            foreach ((byte[] d, _) in t.WireB.Drain())
            {
                Deliver(t.A, d, t.AddrB);
            }
        }
        client.Dispose();
        server.Dispose();

        const string S = "\"session_id\":\"9d5605a907dbe33a63a0322750a4a3bd\"";
        Assert.Equal(
            $$"""{"ts_ms":1795737600000,"event_type":"SESSION_ESTABLISHED",{{S}},"node_id":"client","state_version":1}""" + "\n"
            + $$"""{"ts_ms":1795737600000,"event_type":"SESSION_TERMINATED",{{S}},"node_id":"client","state_version":1,"reason_code":"CLIENT_TERMINATED"}""" + "\n"
            + "cursor=2\n",
            ReadAll(client.Audit));
        const string Server = S + ",\"node_id\":\"server\",\"policy_version\":\"1\"";
        Assert.Equal(
            $$"""{"ts_ms":1795737600000,"event_type":"SESSION_CREATED",{{Server}},"state_version":0,"state":"BIRTH"}""" + "\n"
            + $$"""{"ts_ms":1795737600000,"event_type":"STATE_CHANGE",{{Server}},"state_version":1,"previous_state":"BIRTH","new_state":"ATTACHED","reason_code":"HANDSHAKE_OK"}""" + "\n"
            + $$"""{"ts_ms":1795737600000,"event_type":"TRANSPORT_ATTACHED",{{Server}},"state_version":1,"remote":"192.0.2.1:1001"}""" + "\n"
            + "cursor=3\n",
            ReadAll(server.Audit));
    }

    private static void Deliver(WireGuardDevice to, byte[] datagram, SocketAddress from)
    {
        ReceiveResult r = to.Decapsulate(datagram, from, out int off, out int len, out Peer? peer);
        if (r == ReceiveResult.Handshake)
        {
            to.ProcessHandshakeMessage(datagram, from, rateLimitOk: true);
        }
        else if (r == ReceiveResult.Control)
        {
            to.Observer?.OnControlFrame(peer!, datagram.AsSpan(off, len), from, null);
        }
    }

    /// <summary>The audit file (and the loss the bounded buffer reports there), from the tail through the pipeline as the interface wires it.</summary>
    [Fact]
    public void The_audit_file_holds_the_tail_lines_and_the_pipeline_gaps_byte_for_byte()
    {
        string dir = Path.Combine(Path.GetTempPath(), "jvpn-audit-golden-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path = Path.Combine(dir, "audit.jsonl");
            var clock = new ManualTimeProvider();
            var tail = new AuditTail("node-1");
            var file = new JsonLinesFileSink(path);
            var gate = new RecordingSink();
            gate.Gate.Reset();
            using (var pipeline = new AuditPipeline([gate, file], new AuditPipelineOptions { Capacity = 2, NodeId = "node-1", TimeProvider = clock }))
            {
                tail.LineWritten += line => pipeline.TryPublish(line);
                tail.Publish(EveryKind()[..1], wallOffsetMs: 1000);
                Assert.True(gate.Entered.Wait(5000, TestContext.Current.CancellationToken)); // the consumer holds line 0
                tail.Publish(EveryKind()[1..6], wallOffsetMs: 1000); // 1 and 2 fill the buffer, 3..5 are dropped
                Assert.True(pipeline.TryPublish(new TestRecord("s9", 4)) is false);
                Assert.True(pipeline.TryPublish(new TestRecord(null, 0, "POLICY_EVENT")) is false);
                gate.Gate.Set();
                Wait.Until(() => gate.Lines.Count == 5);
                tail.Publish(EveryKind()[6..7], wallOffsetMs: 1000);
                Wait.Until(() => gate.Lines.Count == 6);
            }
            Assert.Equal(
                string.Join('\n', EveryKindLines[..3]) + "\n"
                + """{"ts_ms":1795737600000,"event_type":"AUDIT_GAP","session_id":"s9","node_id":"node-1","from_version":4,"to_version":4,"dropped_count":1}""" + "\n"
                + """{"ts_ms":1795737600000,"event_type":"AUDIT_GAP","node_id":"node-1","dropped_count":4}""" + "\n"
                + EveryKindLines[6] + "\n",
                File.ReadAllText(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
