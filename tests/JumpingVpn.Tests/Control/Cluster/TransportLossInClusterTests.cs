using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// transport_lost_ttl on a cluster node (docs/cluster.md "Transport loss in a cluster"). A client that left a slow
/// owner is refused by every other node while that owner beats, so the owner not hearing from it for the TTL does
/// not mean it is gone: the owner hands the session back (released in the store) instead of ending it; the next node
/// the client reaches continues it at once; only a session nobody continued within another TTL is ended.
/// </summary>
public sealed class TransportLossInClusterTests
{
    [Fact]
    public void A_session_whose_client_stayed_away_for_the_ttl_is_released_not_ended_and_another_node_continues_it_while_the_owner_lives()
    {
        // The harness freezes the client for the whole absence; its own transport-loss TTL (which would start a new
        // session) is not what this test is about, so it is longer than the absence.
        var h = new ClusterHarness(2, clientPolicy: SessionPolicy.Default with { TransportLostTtlMs = 120_000 });
        h.Connect();
        SessionId id = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));

        // The client is elsewhere (no client sweep, nothing delivered) while the nodes beat and sweep.
        NodesOnly(h, SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + SessionPolicy.Default.TransportLostTtlMs + 1000);
        OwnershipRecord rec = h.Store.Read(id).Current!;
        Assert.True(rec.Released, "handed back in the store");
        Assert.NotEqual(SessionState.Terminated, rec.State);
        Assert.Equal("n1", rec.OwnerNode);
        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions()); // no longer served by n1
        Assert.Empty(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode));
        Assert.Contains("\"event_type\":\"SESSION_RELEASED\"", h["n1"].Events(), StringComparison.Ordinal);
        Assert.DoesNotContain("TERMINATED", h["n1"].Events(), StringComparison.Ordinal);

        // The client comes back, finds n1 silent for it and moves to n2, which continues the session at once
        // although n1 is alive: same id, the next versions, one owner.
        ulong before = rec.StateVersion;
        for (int i = 0; i < 400 && Field(h["n2"].Jumping.FormatSessions(), "state") != "ATTACHED"; i++)
        {
            h.Run(TimeSpan.FromMilliseconds(50));
        }
        string trace = "n1:\n" + h["n1"].Events() + "\nn2:\n" + h["n2"].Events() + "\nclient:\n" + h.ClientEvents();
        Assert.True(Field(h["n2"].Jumping.FormatSessions(), "state") == "ATTACHED", trace);
        Assert.Equal(id.ToString(), Field(h["n2"].Jumping.FormatSessions(), "session_id"));
        OwnershipRecord after = h.Store.Read(id).Current!;
        Assert.Equal(("n2", false, SessionState.Attached), (after.OwnerNode, after.Released, after.State));
        Assert.True(after.StateVersion > before);
        Assert.Equal(after.StateVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(h.Client.FormatSessions(), "state_version"));
        Assert.DoesNotContain("SESSION_TERMINATED", h.ClientEvents(), StringComparison.Ordinal);

        // n1 does not end what n2 continued when its own second TTL runs out.
        h.Run(TimeSpan.FromMilliseconds(SessionPolicy.Default.TransportLostTtlMs + 1000));
        Assert.Equal(("n2", SessionState.Attached), (h.Store.Read(id).Current!.OwnerNode, h.Store.Read(id).Current!.State));
        Assert.DoesNotContain("TERMINATED", h["n1"].Events(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_handed_back_session_nobody_continued_within_another_ttl_is_ended_by_its_last_owner()
    {
        var h = new ClusterHarness(2);
        h.Connect();
        SessionId id = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));

        long ttl = SessionPolicy.Default.TransportLostTtlMs;
        NodesOnly(h, SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + ttl + 1000);
        Assert.True(h.Store.Read(id).Current!.Released);
        NodesOnly(h, ttl + 1000);
        StoreResult r = h.Store.Read(id);
        string trace = h["n1"].Events();
        Assert.True(r.Status == StoreStatus.NotFound || r.Current is { State: SessionState.Terminated }, trace);
        Assert.Contains("\"reason_code\":\"TRANSPORT_LOSS_TTL_EXPIRED\"", trace, StringComparison.Ordinal);
        Assert.Equal(0, h["n1"].Cluster.OwnedCount);
    }

    [Fact]
    public void A_client_asking_after_the_ttl_ran_out_but_before_the_hand_back_continues_its_session()
    {
        // The owner's sweep handed the due session to a worker still busy with other adoptions (the 10 000-session
        // takeover, docs/cluster.md "Benchmark"): the client's own input arrives first and must not fire T11.
        var h = new ClusterHarness(1, clientPolicy: SessionPolicy.Default with { TransportLostTtlMs = 120_000 });
        h.Connect();
        SessionId id = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        NodesOnly(h, SessionPolicy.Default.TransportDeadMs + SessionPolicy.Default.IdleKeepaliveIntervalMs + 1000);
        Assert.Equal("RECOVERING", Field(h["n1"].Jumping.FormatSessions(), "state"));

        // transport_lost_ttl runs out with the node beating but no sweep reaching the session.
        for (long t = 0; t < SessionPolicy.Default.TransportLostTtlMs + 1000; t += ClusterCoordinator.DefaultBeatEveryMs)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(ClusterCoordinator.DefaultBeatEveryMs));
            h["n1"].Cluster.Tick();
            h["n1"].Wire.Drain();
        }
        // The client speaks again (traffic and its heartbeat) for 5 s; the node does not sweep meanwhile. Its
        // KEEPALIVEs reach the session after the TTL ran out: they must not end it.
        for (int i = 0; i < 100; i++)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(50));
            h["n1"].Cluster.Tick();
            h.ClientPacketReachesANode();
            h.Client.SweepOnce([]);
            h.Pump();
        }
        string trace = "n1:\n" + h["n1"].Events() + "\nclient:\n" + h.ClientEvents();
        Assert.False(h["n1"].Events().Contains("TERMINATED", StringComparison.Ordinal), trace);
        OwnershipRecord after = h.Store.Read(id).Current!;
        Assert.True(after.State != SessionState.Terminated && !after.Released && after.OwnerNode == "n1", trace);
        Assert.Equal(id.ToString(), Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        Assert.Equal(id.ToString(), Field(h.Client.FormatSessions(), "session_id"));
        Assert.DoesNotContain("SESSION_TERMINATED", h.ClientEvents(), StringComparison.Ordinal);

        // The node's sweeps go on: the session's clock started again when its client spoke, so it is neither
        // ended nor handed back a moment later.
        NodesOnly(h, 1000);
        Assert.False(h["n1"].Events().Contains("TERMINATED", StringComparison.Ordinal), h["n1"].Events());
        Assert.False(h.Store.Read(id).Current!.Released);
    }

    /// <summary>Manual time passes with every node beating and sweeping and the client silent (its datagrams are dropped).</summary>
    private static void NodesOnly(ClusterHarness h, long ms)
    {
        long sinceBeat = 0;
        for (long t = 0; t < ms; t += 50)
        {
            h.Clock.Advance(TimeSpan.FromMilliseconds(50));
            sinceBeat += 50;
            foreach (Node n in h.Nodes)
            {
                if (sinceBeat >= ClusterCoordinator.DefaultBeatEveryMs)
                {
                    n.Cluster.Tick();
                }
                n.Jumping.SweepOnce([]);
                n.Wire.Drain();
            }
            if (sinceBeat >= ClusterCoordinator.DefaultBeatEveryMs)
            {
                sinceBeat = 0;
            }
        }
    }

    private static SessionId Sid(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id), hex);
        return id;
    }
}
