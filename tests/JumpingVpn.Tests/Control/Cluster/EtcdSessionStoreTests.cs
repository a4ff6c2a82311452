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

    public void Dispose()
    {
        _store.Dispose();
        _etcd.Dispose();
    }
}
