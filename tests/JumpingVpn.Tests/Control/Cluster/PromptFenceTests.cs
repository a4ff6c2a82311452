using JumpingVpn.Control.Cluster;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// docs/cluster.md "Fence margin": a node stops forwarding its sessions the moment it learns its incarnation may not
/// serve any more (its validity ran out, or the store names a newer incarnation of its node id), not at its next
/// session sweep. No sweep runs in these tests: only the heartbeat loop's tick, on a manual clock.
/// </summary>
public sealed class PromptFenceTests
{
    [Fact]
    public void When_validity_runs_out_the_heartbeat_tick_itself_removes_the_routes_without_waiting_for_the_sweep()
    {
        var h = new ClusterHarness(1);
        h.Connect();
        Node n1 = h["n1"];
        Assert.Single(n1.Device.AllowedIps.PrefixesOf(n1.ClientOnNode));
        Assert.True(h.ClientPacketReachesANode());

        // No beat gets through (nobody ticks) for longer than NodeTtl - fence margin.
        h.Clock.Advance(TimeSpan.FromMilliseconds(NodeTtlMs - ClusterCoordinator.FenceMarginMs + 10));
        n1.Cluster.CheckFence(n1.Cluster.NowMs());

        Assert.Equal(1, n1.Cluster.Fences);
        Assert.Empty(n1.Device.AllowedIps.PrefixesOf(n1.ClientOnNode));
        Assert.Contains("\"detail_code\":\"NODE_FENCED\"", n1.Events(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, n1.Jumping.FormatSessions());
        Assert.False(h.ClientPacketReachesANode());
    }

    [Fact]
    public void A_listing_that_names_a_newer_incarnation_of_this_node_id_fences_at_once_while_validity_remains()
    {
        var h = new ClusterHarness(1);
        h.Connect();
        Node n1 = h["n1"];
        ulong mine = n1.Cluster.NodeEpoch;
        long validFor = n1.Cluster.ValidUntilMs - n1.Cluster.NowMs();
        Assert.True(validFor > 100, $"valid for {validFor} ms");

        // A second process under the same node id (a restart while this one was cut off) registers and beats.
        ulong newer = h.Store.RegisterNode("n1");
        Assert.True(newer > mine);
        Assert.True(h.Store.Heartbeat(new ClusterNodeInfo("n1", newer, 1, "", false, 0)));

        n1.Cluster.Tick(); // its listing shows node epoch `newer` for n1

        Assert.Equal(1, n1.Cluster.Fences);
        Assert.Empty(n1.Device.AllowedIps.PrefixesOf(n1.ClientOnNode));
        Assert.Contains("\"detail_code\":\"NODE_FENCED\"", n1.Events(), StringComparison.Ordinal);
        Assert.False(h.ClientPacketReachesANode());
    }
}
