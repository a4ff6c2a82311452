using System.Diagnostics;
using System.Globalization;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// What the etcd store is chosen for (docs/cluster.md "Which store"): in a three-member etcd, the leader is
/// killed with SIGKILL; every write the store acknowledged before is still there, and the nodes' store calls succeed
/// again on the remaining members once they have elected a new leader (the time is measured and logged).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EtcdMemberFailoverTests
{
    private static readonly string PeerKey = Convert.ToBase64String(new byte[32] { 9, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 });

    [Fact]
    public void Killing_the_etcd_leader_loses_no_acknowledged_ownership_and_the_store_answers_again_on_the_other_members()
    {
        Requirements.EnsureTools("etcd");
        IReadOnlyList<EtcdServer> members = EtcdServer.StartCluster(3);
        try
        {
            Assert.True(StoreUrl.TryParse(EtcdServer.ClusterUrl(members, "mf", "500ms"), out StoreUrl url, out string? problem), problem);
            url = url with { Access = new StoreAccess(EtcdServer.User, members[0].Password, null, null, null, null) };
            using var store = (EtcdSessionStore)url.Open();
            Assert.Null(store.AuthenticationProblem);

            Span<byte> b = stackalloc byte[SessionId.Size];
            System.Security.Cryptography.RandomNumberGenerator.Fill(b);
            SessionId id = SessionId.Read(b);
            OwnershipRecord r = store.Create(new OwnershipRecord
            {
                Id = id, PeerKey = PeerKey, OwnerNode = "node-a", OwnerNodeEpoch = 1, State = SessionState.Attached, StateVersion = 1, BoundAtVersion = 1,
                Binding = "192.0.2.7:4000", InnerAddresses = "10.77.0.2/32", PolicyVersion = "1", CreatedUnixMs = 1_700_000_000_000,
            }).Current!;
            // An ownership transfer (node-a never beat: no heartbeat record) and a commit under the new epoch,
            // both acknowledged before the leader dies.
            Assert.True(store.Acquire(id, "node-b", 1, AcquireExpectation.Of(r, default)).IsOk);
            OwnershipRecord b2 = store.Read(id).Current!;
            Assert.True(store.CompareAndSwap(1, b2 with { StateVersion = 2 }, 1000).IsOk);

            EtcdServer leader = EtcdServer.Leader(members);
            var sw = Stopwatch.StartNew();
            leader.Crash();
            StoreResult read = default;
            int unavailable = 0;
            while (sw.Elapsed < TimeSpan.FromSeconds(20))
            {
                read = store.Read(id);
                if (read.IsOk)
                {
                    break;
                }
                unavailable++;
                Thread.Sleep(20);
            }
            double back = sw.Elapsed.TotalMilliseconds;
            Assert.True(read.IsOk, $"no answer from the remaining members within 20 s ({read.Status}, {store.LastError})");
            Assert.Equal(("node-b", 2UL, 2UL), (read.Current!.OwnerNode, read.Current.OwnerEpoch, read.Current.StateVersion));
            // The old owner stays fenced and the new one keeps committing on the two remaining members. A call
            // the client sends to the dead member fails closed (Unavailable) and is retried, as the session
            // layer does; only a definite answer counts.
            OwnershipRecord current = read.Current;
            Assert.Equal(StoreStatus.OwnershipConflict, Answered(() => store.CompareAndSwap(2, r with { StateVersion = 3 }, 1000)).Status);
            Assert.Equal(StoreStatus.OwnershipConflict, Answered(() => store.Acquire(id, "node-a", 1, AcquireExpectation.Of(r, default))).Status);
            StoreResult next = Answered(() => store.CompareAndSwap(2, current with { StateVersion = 3 }, 1000));
            // A commit whose answer was lost with the dead member is retried and then conflicts with itself: the
            // record, not that answer, says whether it landed.
            OwnershipRecord after = Answered(() => store.Read(id)).Current!;
            Assert.True(next.IsOk || next.Status == StoreStatus.StaleStateVersion, next.Status.ToString());
            Assert.Equal(("node-b", 3UL), (after.OwnerNode, after.StateVersion));
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"etcd leader killed -9: the store answered again after {back:0} ms ({unavailable} unavailable reads)"));
        }
        finally
        {
            foreach (EtcdServer m in members)
            {
                m.Dispose();
            }
        }
    }

    /// <summary>The first answer of <paramref name="call"/> that is not Unavailable, within 10 s.</summary>
    private static StoreResult Answered(Func<StoreResult> call)
    {
        var sw = Stopwatch.StartNew();
        StoreResult result = call();
        while (result.Status == StoreStatus.Unavailable && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(20);
            result = call();
        }
        return result;
    }
}
