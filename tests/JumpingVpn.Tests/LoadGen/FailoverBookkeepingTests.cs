using JumpingVpn.Control.Sessions;
using JumpingVpn.LoadGen.Bench;
using JumpingVpn.LoadGen.Bench.Failover;

namespace JumpingVpn.Tests.LoadGen;

/// <summary>
/// The bookkeeping of `jvpn-loadgen failover` (docs/cluster.md "Benchmark"), without a network: what one
/// session saw around the kill, the client's failover decisions on a hand-driven clock, and the owner and
/// version checks against a store snapshot and the nodes' own tables.
/// </summary>
public sealed class FailoverBookkeepingTests
{
    private static readonly SessionId Id = SessionId.Read(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 });
    private static readonly SessionId Other = SessionId.Read(new byte[] { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 });

    [Fact]
    public void Trace_measures_the_gap_from_the_last_answer_before_the_kill_to_the_first_after_it()
    {
        var t = new SessionTrace();
        t.OnAnswer(1000, 0, Id, 1);
        t.OnAnswer(1100, 0, Id, 1);
        t.OnKill(1150, 0);
        t.OnSilent(2200);
        t.OnAnswer(2900, 1, Id, 3);
        t.OnAnswer(3000, 1, Id, 3);

        Assert.True(t.Resumed);
        Assert.Equal(1800, t.GapMs);
        Assert.Equal(1750, t.ResumeMs);
        Assert.Equal(2200, t.SilentAtMs);
        Assert.Equal(1, t.SilentEpisodes);
        Assert.Equal(0, t.NodeBeforeKill);
        Assert.Equal(1, t.NodeAfterKill);
        Assert.Equal(1, t.LastNode);
        Assert.Equal(1UL, t.VersionBeforeKill);
        Assert.Equal(3UL, t.FirstVersionAfterKill);
        Assert.True(t.VersionsMoveOn);
        Assert.True(t.TookExactly(2));
        Assert.False(t.TookExactly(1));
        Assert.False(t.IdChanged);

        t.OnSilent(4000); // the survivor went silent too: the client moved again
        Assert.Equal(2, t.SilentEpisodes);
        Assert.Equal(2200, t.SilentAtMs);
    }

    [Fact]
    public void A_reply_of_the_killed_node_read_after_the_kill_still_counts_before_it()
    {
        var t = new SessionTrace();
        t.OnAnswer(1000, 0, Id, 1);
        t.OnKill(1010, 0);
        t.OnAnswer(1011, 0, Id, 1); // sent before the SIGKILL landed, read just after

        Assert.False(t.Resumed);
        Assert.Equal(1011, t.LastAnswerBeforeKillMs);
        Assert.True(double.IsNaN(t.GapMs));
        Assert.True(double.IsNaN(t.ResumeMs));
    }

    [Fact]
    public void Trace_flags_a_changed_id_a_version_that_went_back_and_a_skipped_version()
    {
        var t = new SessionTrace();
        t.OnAnswer(0, 0, Id, 4);
        t.OnKill(10, 0);
        t.OnAnswer(500, 2, Other, 7);
        Assert.True(t.IdChanged);
        Assert.True(t.VersionsMoveOn);
        Assert.False(t.TookExactly(2)); // 4 -> 7: more than one adoption and one reattach

        var back = new SessionTrace();
        back.OnAnswer(0, 0, Id, 4);
        back.OnKill(10, 0);
        back.OnAnswer(500, 1, Id, 6);
        back.OnAnswer(600, 1, Id, 5);
        Assert.True(back.VersionWentBack);
        Assert.False(back.VersionsMoveOn);

        var still = new SessionTrace();
        still.OnAnswer(0, 0, Id, 4);
        still.OnKill(10, 0);
        still.OnAnswer(500, 1, Id, 4);
        Assert.False(still.VersionsMoveOn); // resumed on another node without a transition
    }

    [Fact]
    public void Retryable_refusals_are_counted_and_a_session_that_is_gone_is_lost()
    {
        var t = new SessionTrace();
        t.OnRefused(ReasonCode.NotAuthoritativeOwner);
        t.OnRefused(ReasonCode.StoreUnavailable);
        t.OnRefused(ReasonCode.OwnershipConflict);
        Assert.Equal(3, t.RetryableRefusals);
        Assert.False(t.Lost);
        Assert.False(t.SawStale);
        t.OnRefused(ReasonCode.StaleStateVersion);
        Assert.True(t.SawStale);
        Assert.False(t.Lost);
        t.OnRefused(ReasonCode.SessionNotFound);
        Assert.True(t.Lost);
        Assert.Equal(ReasonCode.SessionNotFound, t.LostReason);
    }

    [Fact]
    public void A_stale_refusal_is_retried_from_the_version_the_node_named()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        while (c.Poll(now) != FailoverAction.Handshake)
        {
            now += 10;
        }
        c.OnHandshakeResponse(now);
        c.OnRefused(now + 1, ReasonCode.StaleStateVersion, 0, currentVersion: 3);
        Assert.Equal(3UL, c.AckedVersion);
        Assert.Equal(FailoverAction.None, c.Poll(now + 50));
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 51));
        c.OnReattachAck(now + 60, 1, Id, 4);
        Assert.True(c.Trace.Resumed);
        // 1 -> 4: more than one failover's transitions (the client was told it had missed one).
        Assert.True(c.Trace.VersionsMoveOn);
        Assert.False(c.Trace.TookExactly(FailoverSemantics.VersionsPerFailover));
        Assert.True(c.Trace.SawStale);
    }

    [Fact]
    public void Client_attaches_keeps_a_heartbeat_and_an_answer_clears_the_outstanding_request()
    {
        var c = new FailoverClient([0, 1, 2], heartbeatMs: 100);
        Assert.Equal(FailoverAction.Handshake, c.Start(0));
        Assert.Equal(FailoverAction.None, c.Poll(10));
        Assert.True(c.OnHandshakeResponse(20));
        c.OnHelloAck(25, 0, Id, 1, firstKeepaliveMs: 60);
        Assert.True(c.IsAttached);
        Assert.Equal(Id, c.SessionId);
        Assert.Equal(FailoverAction.None, c.Poll(50));
        Assert.Equal(FailoverAction.Keepalive, c.Poll(60));
        Assert.Equal(FailoverAction.None, c.Poll(100));
        c.OnKeepaliveAck(61, 0, 1);
        Assert.Equal(FailoverAction.Keepalive, c.Poll(160));
        c.OnKeepaliveAck(161, 0, 1);
        // Answered every time: no silence however long it runs.
        for (long t = 170; t < 5000; t += 10)
        {
            if (c.Poll(t) == FailoverAction.Keepalive)
            {
                c.OnKeepaliveAck(t + 1, 0, 1);
            }
        }
        Assert.Equal(0, c.Node);
        Assert.Equal(-1, c.Trace.SilentAtMs);
    }

    [Fact]
    public void Client_fails_over_after_the_silence_verdict_and_resumes_through_a_refusal_and_a_reattach()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        // Heartbeats go unanswered from here.
        long firstUnanswered = -1;
        FailoverAction a;
        while ((a = c.Poll(now)) != FailoverAction.Handshake)
        {
            if (a == FailoverAction.Keepalive && firstUnanswered < 0)
            {
                firstUnanswered = now;
            }
            now += 10;
            Assert.True(now < 10_000, "never judged the node silent");
        }
        Assert.Equal(FailoverSemantics.SilentNodeMs, now - firstUnanswered);
        Assert.Equal(1, c.Node);
        Assert.Equal(now, c.Trace.SilentAtMs);

        Assert.True(c.OnHandshakeResponse(now + 5));
        // The new node cannot serve the session yet: whatever time it names, the client asks again within
        // 100 ms (the owner may be freed earlier than named), with REATTACH.
        c.OnRefused(now + 6, ReasonCode.NotAuthoritativeOwner, 3000);
        Assert.Equal(FailoverClientState.Refused, c.State);
        Assert.Equal(FailoverAction.None, c.Poll(now + 105));
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 106));
        // A named time under 20 ms is stretched to 20 ms.
        c.OnRefused(now + 110, ReasonCode.NotAuthoritativeOwner, 5);
        Assert.Equal(FailoverAction.None, c.Poll(now + 129));
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 130));
        // Unanswered: retried after 200 ms, then 400 ms.
        Assert.Equal(FailoverAction.None, c.Poll(now + 329));
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 330));
        Assert.Equal(FailoverAction.None, c.Poll(now + 729));
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 730));
        c.OnReattachAck(now + 740, 1, Id, 3);

        Assert.True(c.IsAttached);
        Assert.Equal(3UL, c.AckedVersion);
        Assert.True(c.Trace.Resumed);
        Assert.Equal(2, c.Trace.RetryableRefusals);
        Assert.True(c.Trace.VersionsMoveOn);
        Assert.True(c.Trace.TookExactly(FailoverSemantics.VersionsPerFailover));
        Assert.Equal(ReasonCode.NotAuthoritativeOwner, c.Trace.LastRefusal);
        Assert.Equal(2, c.Trace.Refusals![ReasonCode.NotAuthoritativeOwner]);
        Assert.Equal(now + 740 - c.Trace.KillMs, c.Trace.ResumeMs);
    }

    [Fact]
    public void A_silent_node_is_probed_every_100_ms_after_300_ms_and_judged_at_600_ms_as_the_client_role_does()
    {
        var c = new FailoverClient([0, 1, 2], heartbeatMs: 500); // the real client's active heartbeat
        c.Start(0);
        c.OnHandshakeResponse(10);
        c.OnHelloAck(20, 0, Id, 1, firstKeepaliveMs: 20);
        var keepalives = new List<long>();
        long now = 20;
        FailoverAction a;
        while ((a = c.Poll(now)) != FailoverAction.Handshake)
        {
            if (a == FailoverAction.Keepalive)
            {
                keepalives.Add(now);
            }
            now += 10;
            Assert.True(now < 5_000, "never judged the node silent");
        }
        // The heartbeat at 20 goes unanswered: probes at 320, 420, 520, 620 would follow; the verdict comes at 620.
        Assert.Equal([20, 320, 420, 520], keepalives);
        Assert.Equal(20 + FailoverSemantics.SilentNodeMs, now);
    }

    [Fact]
    public void The_simulated_client_uses_the_client_roles_timing()
    {
        Assert.Equal(JumpingVpn.Control.Jumping.Client.NodeSilence.FastVerdictMs, FailoverSemantics.SilentNodeMs);
        Assert.Equal(JumpingVpn.Control.Jumping.Client.NodeSilence.ProbeAfterMs, FailoverSemantics.ProbeAfterMs);
        Assert.Equal(JumpingVpn.Control.Jumping.Client.NodeSilence.ProbeEveryMs, FailoverSemantics.ProbeEveryMs);
        Assert.Equal(JumpingVpn.Control.Jumping.Client.ServerFailover.MinOwnerRetryMs, FailoverSemantics.MinOwnerRetryMs);
        Assert.Equal(JumpingVpn.Control.Jumping.Client.ServerFailover.MaxOwnerRetryMs, FailoverSemantics.MaxOwnerRetryMs);
        Assert.Equal(JumpingVpn.Control.Jumping.Client.ServerFailover.OwnerRefusalRotateMs, FailoverSemantics.OwnerRefusalRotateMs);
        Assert.Equal(JumpingVpn.Control.Jumping.Client.NodeSilence.SettleMs, FailoverSemantics.SettleMs);
        Assert.Equal(FailoverSemantics.PathDeadMs, JumpingVpn.Control.Policy.SessionPolicy.Default.PathDeadMs);
        Assert.Equal(FailoverSemantics.TransportDeadMs, JumpingVpn.Control.Policy.SessionPolicy.Default.TransportDeadMs);
        for (int moves = 0; moves <= 6; moves++)
        {
            Assert.Equal(JumpingVpn.Control.Jumping.Client.NodeSilence.SettlingVerdictMs(-1, FailoverSemantics.PathDeadMs, FailoverSemantics.TransportDeadMs, moves),
                FailoverSemantics.SilentVerdictMs(moves));
            Assert.Equal(JumpingVpn.Control.Jumping.Client.NodeSilence.ProbeEveryMsFor(moves), FailoverSemantics.ProbeEveryMsFor(moves));
        }
    }

    [Fact]
    public void A_client_that_resumed_on_a_survivor_leaves_it_only_after_the_settling_verdict()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        long silentFrom = now;
        while (c.Poll(now) != FailoverAction.Handshake)
        {
            now += 10;
        }
        Assert.InRange(now - silentFrom, FailoverSemantics.SilentNodeMs, FailoverSemantics.SilentNodeMs + 110);
        Assert.True(c.OnHandshakeResponse(now + 5));
        // The busy survivor answers the resume only after longer than the settle window: settling counts from there.
        now += FailoverSemantics.SettleMs + 500;
        c.OnHelloAck(now, 1, Id, 3, now);
        Assert.True(c.Trace.Resumed);

        // The survivor answers for a while, then is too busy to answer at all: the client waits path_dead x 2
        // (one move in this run) before it moves on.
        now += 20;
        for (long end = now + 1000; now < end; now += 10)
        {
            if (c.Poll(now) == FailoverAction.Keepalive)
            {
                c.OnKeepaliveAck(now + 1, 1, 3);
            }
        }
        long first = -1;
        for (long until = now + 10_000; now < until; now += 10)
        {
            FailoverAction a = c.Poll(now);
            if (a == FailoverAction.Handshake)
            {
                break;
            }
            if (a == FailoverAction.Keepalive)
            {
                first = first < 0 ? now : first;
            }
        }
        Assert.Equal(FailoverClientState.Handshaking, c.State);
        Assert.Equal(2, c.Node);
        Assert.Equal(2 * FailoverSemantics.PathDeadMs, now - first);
        Assert.Equal(2, c.Trace.SilentEpisodes);
    }

    [Fact]
    public void Invalid_transport_candidate_from_the_node_the_client_reattaches_to_counts_as_bound_there()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        while (c.Poll(now) != FailoverAction.Handshake)
        {
            now += 10;
        }
        Assert.True(c.OnHandshakeResponse(now + 5));
        c.OnRefused(now + 10, ReasonCode.NotAuthoritativeOwner, 50);
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 60));
        // The REATTACH's ACK is lost; the retry finds the session already bound to this client's address.
        Assert.Equal(FailoverAction.Reattach, c.Poll(now + 60 + FailoverSemantics.ReattachRetryMs(0)));
        c.OnRefused(now + 200, ReasonCode.InvalidTransportCandidate, 0, currentVersion: 3);
        Assert.True(c.IsAttached);
        Assert.True(c.Trace.Resumed);
        Assert.Equal(3UL, c.AckedVersion);
        Assert.False(c.Trace.Lost);
    }

    [Fact]
    public void Refusals_from_a_live_owner_for_two_seconds_send_the_client_to_the_next_node()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        while (c.Poll(now) != FailoverAction.Handshake)
        {
            now += 10;
        }
        Assert.Equal(1, c.Node);
        Assert.True(c.OnHandshakeResponse(now + 5));
        long start = now + 6;
        long t = start;
        for (; t < start + FailoverSemantics.OwnerRefusalRotateMs; t += 200)
        {
            c.OnRefused(t, ReasonCode.NotAuthoritativeOwner, 150);
            Assert.Equal(FailoverClientState.Refused, c.State);
            Assert.Equal(FailoverAction.Reattach, c.Poll(t + 150));
        }
        c.OnRefused(t, ReasonCode.NotAuthoritativeOwner, 150);
        Assert.Equal(FailoverAction.Handshake, c.Poll(t));
        Assert.Equal(2, c.Node);
    }

    [Fact]
    public void An_unanswered_failover_handshake_moves_on_to_the_next_node_after_the_rekey_timeout()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        while (c.Poll(now) != FailoverAction.Handshake)
        {
            now += 10;
        }
        Assert.Equal(1, c.Node);
        Assert.Equal(FailoverAction.None, c.Poll(now + FailoverSemantics.HandshakeRetryMs - 1));
        Assert.Equal(FailoverAction.Handshake, c.Poll(now + FailoverSemantics.HandshakeRetryMs));
        Assert.Equal(2, c.Node);
        // A response from the node it now talks to goes on with HELLO; an unanswered HELLO is resent.
        long t = now + FailoverSemantics.HandshakeRetryMs + 10;
        Assert.True(c.OnHandshakeResponse(t));
        Assert.Equal(FailoverAction.None, c.Poll(t + FailoverSemantics.HelloRetryMs - 1));
        Assert.Equal(FailoverAction.Hello, c.Poll(t + FailoverSemantics.HelloRetryMs));
        c.OnHelloAck(t + 1100, 2, Id, 3, t + 1100);
        Assert.True(c.Trace.Resumed);
        Assert.Equal(2, c.Trace.NodeAfterKill);
        Assert.Equal(2, c.FailoverHandshakes);
    }

    [Fact]
    public void A_lost_session_stops_the_client()
    {
        var c = Attached(out long now);
        c.OnKill(now, 0);
        while (c.Poll(now) != FailoverAction.Handshake)
        {
            now += 10;
        }
        c.OnHandshakeResponse(now);
        c.OnRefused(now + 1, ReasonCode.SessionNotFound, 0);
        Assert.Equal(FailoverClientState.Lost, c.State);
        Assert.True(c.Trace.Lost);
        Assert.Equal(FailoverAction.None, c.Poll(now + 60_000));
    }

    [Fact]
    public void Clients_spread_over_the_survivors_and_all_start_on_the_first_node()
    {
        Assert.Equal([0, 1, 2], FailoverBench.Order(0, 3, spread: true));
        Assert.Equal([0, 2, 1], FailoverBench.Order(1, 3, spread: true));
        Assert.Equal([0, 1, 2], FailoverBench.Order(2, 3, spread: true));
        Assert.Equal([0, 1, 2], FailoverBench.Order(1, 3, spread: false));
        Assert.Equal([0, 1], FailoverBench.Order(5, 2, spread: true));
        Assert.Equal(100, FailoverBenchOptions.DefaultHeartbeatMs(4));
        Assert.Equal(250, FailoverBenchOptions.DefaultHeartbeatMs(5000));
        Assert.Equal(FailoverSemantics.RealClientHeartbeatMs, FailoverBenchOptions.DefaultHeartbeatMs(100_000));
    }

    [Fact]
    public void Ownership_check_counts_dual_owners_version_gaps_and_sessions_per_node()
    {
        string[] nodes = ["node-1", "node-2", "node-3"];
        SessionTrace good = Resumed(Id, node: 1, before: 1, after: 3);
        var ids = new SessionId[4];
        for (int i = 0; i < ids.Length; i++)
        {
            byte[] b = new byte[16];
            b[0] = (byte)(i + 20);
            ids[i] = SessionId.Read(b);
        }
        SessionTrace twoClaims = Resumed(ids[0], node: 2, before: 1, after: 3);
        SessionTrace wrongOwner = Resumed(ids[1], node: 2, before: 1, after: 3);
        SessionTrace storeAhead = Resumed(ids[2], node: 1, before: 1, after: 3);
        SessionTrace notInStore = Resumed(ids[3], node: 1, before: 1, after: 3);
        var store = new Dictionary<string, StoreSession>
        {
            [Id.ToString()] = new("node-2", 3, "ATTACHED"),
            [ids[0].ToString()] = new("node-3", 3, "ATTACHED"),
            [ids[1].ToString()] = new("node-2", 3, "ATTACHED"), // the client was answered by node-3
            [ids[2].ToString()] = new("node-2", 4, "ATTACHED"), // a transition the client never heard of
            ["replaced-by-a-retried-hello"] = new("node-1", 1, "ATTACHED"),
        };
        var claims = new List<IReadOnlySet<string>?>
        {
            null,
            new HashSet<string> { Id.ToString(), ids[0].ToString(), ids[1].ToString(), ids[2].ToString(), ids[3].ToString() },
            new HashSet<string> { ids[0].ToString() },
        };

        SessionTrace moving = Resumed(Other, node: 1, before: 1, after: 3);
        store[Other.ToString()] = new("node-3", 5, "RECOVERING"); // adopted by node-3, the client not told yet

        OwnershipCheck.Result r = OwnershipCheck.Check([good, twoClaims, wrongOwner, storeAhead, notInStore, moving], nodes, store, claims,
            [true, true, true, true, true, false]);

        Assert.Equal(2, r.DualOwners);
        Assert.Equal(1, r.ClaimedByTwo);
        Assert.Equal(1, r.Unsettled);
        Assert.Equal(1, r.VersionGaps);
        Assert.Equal(1, r.MissingFromStore);
        Assert.Equal(3, r.SessionsPerNode["node-2"]);
        Assert.Equal(2, r.SessionsPerNode["node-3"]);
        Assert.False(r.SessionsPerNode.ContainsKey("node-1"));
    }

    [Fact]
    public void Cluster_status_json_is_read_by_session_id()
    {
        const string json = """
            {"store":"redis://x","sessions":[
              {"session_id":"aa","owner_node_id":"node-2","owner_epoch":2,"state":"ATTACHED","state_version":3},
              {"session_id":"bb","owner_node_id":"node-3","owner_epoch":2,"state":"RECOVERING","state_version":5}]}
            """;
        Dictionary<string, StoreSession> s = OwnershipCheck.ParseStatus(json);
        Assert.Equal(new StoreSession("node-2", 3, "ATTACHED"), s["aa"]);
        Assert.Equal(new StoreSession("node-3", 5, "RECOVERING"), s["bb"]);
        Assert.Empty(OwnershipCheck.ParseStatus("{}"));
    }

    [Fact]
    public void Audit_logs_of_several_nodes_are_checked_together_and_a_torn_last_line_is_skipped()
    {
        string dir = Directory.CreateTempSubdirectory("jvpn-failover-audit-").FullName;
        try
        {
            string a = Path.Combine(dir, "node-1.audit.jsonl");
            string b = Path.Combine(dir, "node-2.audit.jsonl");
            File.WriteAllText(a, Line("s1", 1) + Line("s2", 1) + "{\"event_type\":\"STATE_CH");
            File.WriteAllText(b, Line("s1", 2) + Line("s1", 3) + Line("s2", 3));

            AuditCheck.Result both = AuditCheck.Read([a, b]);
            Assert.Equal(2, both.Sessions);
            Assert.Equal(1, both.SessionsWithVersionGaps); // s2: 1, 3
            Assert.Equal(5, both.StateChanges);

            AuditCheck.Result second = AuditCheck.Read(b);
            Assert.Equal(2, second.SessionsWithVersionGaps); // alone, neither starts at 1
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Line(string session, int version) =>
        $"{{\"event_type\":\"STATE_CHANGE\",\"session_id\":\"{session}\",\"state_version\":{version}}}\n";

    private static SessionTrace Resumed(SessionId id, int node, ulong before, ulong after)
    {
        var t = new SessionTrace();
        t.OnAnswer(0, 0, id, before);
        t.OnKill(10, 0);
        t.OnAnswer(900, node, id, after);
        return t;
    }

    private static FailoverClient Attached(out long now)
    {
        var c = new FailoverClient([0, 1, 2], heartbeatMs: 100);
        c.Start(0);
        c.OnHandshakeResponse(10);
        c.OnHelloAck(20, 0, Id, 1, firstKeepaliveMs: 20);
        now = 20;
        for (; now < 1000; now += 10)
        {
            if (c.Poll(now) == FailoverAction.Keepalive)
            {
                c.OnKeepaliveAck(now + 1, 0, 1);
            }
        }
        return c;
    }
}
