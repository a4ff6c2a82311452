using JumpingVpn.Control.Cluster;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The store contract against a real etcd on 127.0.0.1 with authentication on (random high ports, killed by
/// PID after the test), with what only a shared store can show (<see cref="SharedSessionStoreContract"/>).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EtcdSessionStoreTests : SharedSessionStoreContract, IDisposable
{
    private readonly EtcdServer _etcd;
    private readonly EtcdSessionStore _store;
    private readonly string _url;
    private readonly string _prefix;

    public EtcdSessionStoreTests()
    {
        Requirements.EnsureTools("etcd");
        _etcd = EtcdServer.StartNew();
        _prefix = "c" + NetNs.RandomHex(4);
        _url = _etcd.Url(_prefix, timeout: "5s");
        _store = EtcdSessionStore.Connect(_etcd.StoreUrl(_prefix, timeout: "5s"));
        Assert.Null(_store.AuthenticationProblem);
    }

    protected override ISessionStore Store => _store;

    // The node's clock runs the tombstone expiry; the same margin as the Redis tests, for a busy CI machine.
    protected override long TombstoneMs => 1500;

    // etcd cannot compare a number inside a value: the heartbeat is a plain put (EtcdSessionStore.Heartbeat).
    protected override bool RefusesOlderIncarnationBeats => false;

    protected override void Elapse(long ms) => Thread.Sleep(TimeSpan.FromMilliseconds(ms));

    protected override string Url => _url;

    protected override string Password => _etcd.Password;

    protected override void StopServer() => _etcd.Stop();

    protected override void StartServer() => _etcd.Start();

    [Fact]
    public void A_record_that_is_not_jvpns_is_malformed_and_never_an_exception()
    {
        var id = NewId();
        Store.Create(NewRecord(id));
        // Whoever can write to etcd can write any bytes under the prefix (docs/cluster.md "The store is untrusted input").
        using EtcdConnection raw = EtcdConnection.Open(_etcd.StoreUrl(_prefix));
        string key = _prefix + "/s/" + id;
        foreach (string value in (string[])["not json", "[1,2]", "{\"peer\":1}", "{\"remove\":\"99999999999999\",\"owner\":\"\\u001b[2J\"}", new string('x', 5000)])
        {
            raw.Call((c, h, d) => c.Put(key, value, h, d), DateTime.UtcNow.AddSeconds(5));
            StoreResult read = Store.Read(id);
            Assert.Equal(StoreStatus.Malformed, read.Status);
            Assert.DoesNotContain('\u001b', read.Problem!);
            Assert.Equal(StoreStatus.Malformed, Store.Acquire(id, "node-b", 1, AcquireExpectation.Of(NewRecord(id) with { OwnerEpoch = 1 }, default)).Status);
            Assert.DoesNotContain(Store.ListSessions(), s => s.Id == id);
        }
    }

    /// <summary>
    /// docs/cluster.md "etcd": the heartbeat key lives on an etcd lease (TTL NodeTtl rounded down to seconds + 2 s) that the
    /// beats' keep-alives renew, so it outlives the lease's TTL while the node beats, and etcd deletes it by its own clock
    /// once the beats stop: not before the node's own validity ran out (NodeTtl − fence margin after its last beat).
    /// </summary>
    [Fact]
    public void The_heartbeat_key_lives_on_a_lease_that_beats_keep_alive_and_that_etcd_expires_once_they_stop()
    {
        string node = NodeName("leased");
        ulong epoch = Store.RegisterNode(node);
        var beating = System.Diagnostics.Stopwatch.StartNew();
        ulong beat = 0;
        while (beating.ElapsedMilliseconds < 3500) // past the lease's TTL (2 s at the default NodeTtl)
        {
            Assert.True(Store.Heartbeat(new ClusterNodeInfo(node, epoch, ++beat, "", false, 0)));
            Assert.Contains(Store.ListNodes()!, n => n.NodeId == node && n.Beat == beat);
            Thread.Sleep(100);
        }
        using EtcdConnection raw = EtcdConnection.Open(_etcd.StoreUrl(_prefix));
        Etcdserverpb.RangeResponse key = raw.Call((c, h, d) => c.Get(new Etcdserverpb.RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(_prefix + "/n/" + node) }, h, d), DateTime.UtcNow.AddSeconds(5));
        Assert.NotEqual(0, Assert.Single(key.Kvs).Lease);

        var silent = System.Diagnostics.Stopwatch.StartNew();
        while (Store.ListNodes()!.Any(n => n.NodeId == node) && silent.ElapsedMilliseconds < 10_000)
        {
            Thread.Sleep(50);
        }
        Assert.DoesNotContain(Store.ListNodes()!, n => n.NodeId == node);
        Assert.True(silent.ElapsedMilliseconds >= ClusterCoordinator.DefaultNodeTtlMs - ClusterCoordinator.FenceMarginMs,
            $"the key vanished {silent.ElapsedMilliseconds} ms after the last beat, before the node's validity could have ended");

        // The next beat finds its lease gone (it does not count: the node's validity ended long ago), the one after
        // that gets a new lease and the node is listed again.
        Assert.False(Store.Heartbeat(new ClusterNodeInfo(node, epoch, ++beat, "", false, 0)));
        Assert.True(Store.Heartbeat(new ClusterNodeInfo(node, epoch, ++beat, "", false, 0)));
        Assert.Contains(Store.ListNodes()!, n => n.NodeId == node && n.Beat == beat);
    }

    public void Dispose()
    {
        _store.Dispose();
        _etcd.Dispose();
    }
}
