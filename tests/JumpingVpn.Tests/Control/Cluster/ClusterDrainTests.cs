using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Sessions;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// Drain of a live node in one process (docs/cluster.md "Drain"), on the manual clock: the owner releases the
/// session, tells the client to move (SESSION_MOVE), the client handshakes with the next node and resumes, and
/// that node takes the session at once (no lease wait): same id, contiguous versions, one owner.
/// </summary>
public sealed class ClusterDrainTests
{
    private static SessionId Sid(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id));
        return id;
    }

    /// <summary>Connected to n1, then quiet past WireGuard's 5 s between initiations, every node announced.</summary>
    private static ClusterHarness Connected(int nodes)
    {
        var h = new ClusterHarness(nodes);
        h.Connect();
        h.Run(TimeSpan.FromSeconds(6));
        return h; // the harness beats every node while it runs
    }

    /// <summary>Steps the drain every 10 ms (sweeps every 50 ms) until the node may exit; returns the sim ms it took.</summary>
    private static long DrainToEnd(ClusterHarness h, DrainDriver driver, Func<bool>? done = null, List<long>? doneAt = null)
    {
        long t = 0;
        for (; t < 10_000; t += 10)
        {
            bool finished = driver.Step();
            h.Pump();
            if (done is not null && doneAt is { Count: 0 } && done())
            {
                doneAt.Add(t);
            }
            if (finished)
            {
                return t;
            }
            h.Clock.Advance(TimeSpan.FromMilliseconds(10));
            if (t % 50 == 40)
            {
                foreach (Node n in h.Nodes.Where(n => !n.Down))
                {
                    n.Jumping.SweepOnce([]);
                }
                h.Client.SweepOnce([]);
                h.Pump();
            }
        }
        return t;
    }

    [Fact]
    public void Drain_moves_the_session_to_another_node_at_once_with_the_same_id_and_contiguous_versions()
    {
        ClusterHarness h = Connected(3);
        string id = Field(h["n1"].Jumping.FormatSessions(), "session_id");
        SessionId sid = Sid(id);
        Assert.Equal("1", Field(h.Client.FormatSessions(), "state_version"));

        Assert.True(h["n1"].Jumping.BeginDrain(new DrainLimits(), out DrainDriver? driver));
        var attachedAt = new List<long>();
        long exitAt = DrainToEnd(h, driver!,
            () => Field(h["n2"].Jumping.FormatSessions(), "state") == "ATTACHED" && Field(h.Client.FormatSessions(), "state") == "ATTACHED", attachedAt);

        Assert.Single(attachedAt);
        Assert.InRange(attachedAt[0], 0, 100); // no lease to wait for: a few simulated round trips
        Assert.True(exitAt < 1_000, $"the node may exit only {exitAt} ms after the drain began");
        Assert.Equal((1, 1, 0), (driver!.Drain!.Total, driver.Drain.Moved, driver.Drain.GivenUp));

        Assert.Equal(id, Field(h["n2"].Jumping.FormatSessions(), "session_id"));
        Assert.Equal(id, Field(h.Client.FormatSessions(), "session_id"));
        Assert.Equal("3", Field(h["n2"].Jumping.FormatSessions(), "state_version")); // v2 OWNER_FAILOVER, v3 REATTACH_SUCCESS
        OwnershipRecord rec = h.Store.Read(sid).Current!;
        Assert.Equal(("n2", 2UL, 3UL), (rec.OwnerNode, rec.OwnerEpoch, rec.StateVersion));

        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions());
        Assert.Empty(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode));
        Assert.Empty(h["n3"].Device.AllowedIps.PrefixesOf(h["n3"].ClientOnNode));
        Assert.Single(h["n2"].Device.AllowedIps.PrefixesOf(h["n2"].ClientOnNode));
        Assert.True(h.ClientPacketReachesANode(), h.ClientEvents() + "\n" + h.Client.FormatSessions() + "\n" + Convert.ToString(h.ServerOnClient.Endpoint));
        Assert.Contains("\"event_type\":\"SESSION_DRAINED\"", h["n1"].Events(), StringComparison.Ordinal);
        Assert.Contains("\"event_type\":\"SESSION_MOVED\"", h["n1"].Events(), StringComparison.Ordinal);
        Assert.Contains("\"detail_code\":\"DRAIN\"", h.ClientEvents(), StringComparison.Ordinal);
        Assert.Contains("\"event_type\":\"SESSION_OWNER_TRANSFERRED\"", h["n2"].Events(), StringComparison.Ordinal);
    }

    [Fact]
    public void Make_before_break_the_old_node_forwards_until_the_client_is_seen_elsewhere_and_the_client_sends_through_it_until_the_new_handshake()
    {
        ClusterHarness h = Connected(3);
        SessionId sid = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        Assert.True(h["n1"].Jumping.BeginDrain(new DrainLimits(), out DrainDriver? driver));

        Assert.False(driver!.Step()); // release + SESSION_MOVE
        Assert.True(h.Store.Read(sid).Current!.Released);
        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions()); // no longer answered or committed here
        Assert.Single(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode)); // but still forwarded
        Assert.True(driver.Drain!.IsMoving(sid));

        h.Pump(1); // the client hears SESSION_MOVE and sends its initiation to the target
        Assert.Equal(h["n1"].Addr, h.ServerOnClient.Endpoint); // data still goes through n1 under the current keypair
        Assert.Equal(h["n2"].Addr, h.ServerOnClient.HandshakeEndpoint);
        Assert.True(h.ClientPacketReachesANode());

        h.Pump(); // handshake with n2 completes: n2 becomes the endpoint in the same step
        Assert.Equal(h["n2"].Addr, h.ServerOnClient.Endpoint);
        Assert.Null(h.ServerOnClient.HandshakeEndpoint);

        DrainToEnd(h, driver);
        Assert.False(driver.Drain.IsMoving(sid));
        Assert.Empty(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode)); // stopped once the client was seen on n2
        Assert.Single(h["n2"].Device.AllowedIps.PrefixesOf(h["n2"].ClientOnNode));
        Assert.Equal("n2", h.Store.Read(sid).Current!.OwnerNode);
        Assert.True(h.ClientPacketReachesANode());
    }

    [Fact]
    public void A_draining_node_is_announced_as_draining_and_takes_no_session_on()
    {
        ClusterHarness h = Connected(2);
        Assert.True(h["n1"].Jumping.BeginDrain(new DrainLimits(), out DrainDriver? driver));
        DrainToEnd(h, driver!);
        Assert.False(h["n1"].Jumping.BeginDrain(new DrainLimits(), out _)); // once

        h.Run(TimeSpan.FromMilliseconds(300)); // the next heartbeat carries the flag
        ClusterNodeInfo n1 = Assert.Single(h.Store.ListNodes()!, n => n.NodeId == "n1");
        Assert.True(n1.Draining);
        Assert.Contains(DrainDriver.NodesFrom([(n1, long.MaxValue)], 0), n => n.NodeId == "n1" && n.Draining);

        // The client comes back to n1 (e.g. it lists it first): n1 stays silent, the session stays on n2.
        h.Run(TimeSpan.FromSeconds(6));
        h.ServerOnClient.Endpoint = h["n1"].Addr;
        h.ClientDevice.SendHandshakeInitiation(h.ServerOnClient, isRetry: false);
        h.Pump();
        h.Run(TimeSpan.FromMilliseconds(500));
        Assert.Equal(string.Empty, h["n1"].Jumping.FormatSessions());
        Assert.Empty(h["n1"].Device.AllowedIps.PrefixesOf(h["n1"].ClientOnNode));
        SessionId sid = Sid(Field(h["n2"].Jumping.FormatSessions(), "session_id"));
        Assert.Equal("n2", h.Store.Read(sid).Current!.OwnerNode);
    }

    [Fact]
    public void Drain_targets_are_the_nodes_alive_on_this_nodes_clock_with_their_advertised_endpoints()
    {
        var alive = new ClusterNodeInfo("n2", 3, 40, "192.0.2.7:51820", false, 0);
        var noEndpoint = new ClusterNodeInfo("n3", 1, 9, "", false, 0);
        var dead = new ClusterNodeInfo("n4", 2, 7, "192.0.2.9:51820", false, 0);
        List<DrainNode> nodes = DrainDriver.NodesFrom([(alive, 2000), (noEndpoint, 2000), (dead, 999)], 1000);
        Assert.Equal(["n2", "n3"], nodes.ConvertAll(n => n.NodeId));
        Assert.Equal("192.0.2.7:51820", nodes[0].Endpoint!.ToString());
        Assert.Null(nodes[1].Endpoint);
    }

    [Fact]
    public void A_client_that_never_hears_the_move_is_released_and_the_node_exits_at_the_bound()
    {
        ClusterHarness h = Connected(2);
        SessionId sid = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        h["n1"].Down = true; // its datagrams are lost from now on (the drain itself still runs)
        Assert.True(h["n1"].Jumping.BeginDrain(new DrainLimits { MoveBoundMs = 500, TotalBoundMs = 1_000 }, out DrainDriver? driver));
        long exitAt = DrainToEnd(h, driver!);
        Assert.InRange(exitAt, 500, 1_000);
        Assert.Equal((0, 1), (driver!.Drain!.Moved, driver.Drain.GivenUp));
        Assert.True(h.Store.Read(sid).Current!.Released); // released: any node may take it at once
    }

    [Fact]
    public void A_drain_request_in_the_store_is_taken_once_and_expires()
    {
        var clock = new JumpingVpn.Testing.ManualTimeProvider();
        using var store = new InMemorySessionStore(clock);
        Assert.False(store.TakeDrainRequest("n1"));
        Assert.True(store.RequestDrain("n1", 1_000));
        Assert.False(store.TakeDrainRequest("n2"));
        Assert.True(store.TakeDrainRequest("n1"));
        Assert.False(store.TakeDrainRequest("n1"));
        Assert.True(store.RequestDrain("n1", 1_000));
        clock.Advance(TimeSpan.FromMilliseconds(1_001));
        Assert.False(store.TakeDrainRequest("n1"));
    }
}
