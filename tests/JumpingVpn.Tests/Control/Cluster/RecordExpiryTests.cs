using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// docs/cluster.md "Record expiry" on live nodes: a record released by a node that then died (nobody will end it) is
/// ended by whichever live node sweeps, twice transport_lost_ttl after the release, with an audit line for its version.
/// </summary>
public sealed class RecordExpiryTests
{
    [Fact]
    public void A_session_released_by_a_node_that_died_is_ended_by_a_live_node_after_twice_transport_lost_ttl()
    {
        var h = new ClusterHarness(1);
        Node n1 = h["n1"];
        // A node that released a session (a drain, or a hand-back at transport_lost_ttl) and died before ending it.
        Assert.True(SessionId.TryParse("0123456789abcdef0123456789abcdef", out SessionId id));
        ulong gone = h.Store.RegisterNode("gone");
        OwnershipRecord rec = new()
        {
            Id = id,
            PeerKey = Convert.ToBase64String(new byte[32] { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2 }),
            OwnerNode = "gone",
            OwnerNodeEpoch = gone,
            State = SessionState.Recovering,
            StateVersion = 4,
            BoundAtVersion = 1,
            InnerAddresses = "10.0.0.9/32",
            PolicyVersion = "1",
            CreatedUnixMs = h.Clock.GetUtcNow().ToUnixTimeMilliseconds(),
            LastReason = ReasonCode.TransportDead,
        };
        Assert.True(h.Store.Create(rec).IsOk);
        Assert.True(h.Store.Release(id, "gone", gone, 1).IsOk);

        long ttl = SessionPolicy.Default.TransportLostTtlMs;
        h.Run(TimeSpan.FromMilliseconds(2 * ttl - 1000));
        Assert.Equal(SessionState.Recovering, h.Store.Read(id).Current!.State); // not due yet
        Assert.DoesNotContain("SESSION_EXPIRED", n1.Events(), StringComparison.Ordinal);

        h.Run(TimeSpan.FromMilliseconds(1000 + ClusterCoordinator.ReapEveryMs + 100));

        OwnershipRecord ended = h.Store.Read(id).Current!;
        Assert.Equal((SessionState.Terminated, 5UL, ReasonCode.TransportLossTtlExpired), (ended.State, ended.StateVersion, ended.LastReason));
        Assert.Equal(1, n1.Cluster.RecordsReaped);
        string line = Assert.Single(n1.Events().Split('\n'), l => l.Contains("SESSION_EXPIRED", StringComparison.Ordinal));
        Assert.Contains("\"owner_node_id\":\"gone\"", line, StringComparison.Ordinal);
        Assert.Contains("\"detail_code\":\"TRANSPORT_LOSS_TTL_EXPIRED\"", line, StringComparison.Ordinal);
        Assert.Contains(id.ToString(), line, StringComparison.Ordinal);
    }
}
