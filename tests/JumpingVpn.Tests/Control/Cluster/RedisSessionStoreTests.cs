using JumpingVpn.Control.Cluster;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The store contract against a real redis-server on 127.0.0.1 (random high port, killed by PID after the
/// test), with what only a shared store can show (<see cref="SharedSessionStoreContract"/>).
/// </summary>
public sealed class RedisSessionStoreTests : SharedSessionStoreContract, IDisposable
{
    private readonly RedisServer _redis;
    private readonly RedisSessionStore _store;
    private readonly string _url;

    public RedisSessionStoreTests()
    {
        Requirements.EnsureTools("redis-server");
        _redis = RedisServer.StartNew();
        string prefix = "c" + NetNsHex();
        _url = _redis.Url(prefix, timeout: "5s");
        _store = RedisSessionStore.Connect(_redis.StoreUrl(prefix, timeout: "5s"));
    }

    private static string NetNsHex() => NetNs.RandomHex(4);

    protected override ISessionStore Store => _store;

    // Redis's own clock runs the tombstone expiry: 1.5 s between the CAS and the read that must still see
    // the tombstone, which a CI machine busy building packages has not been seen to take.
    protected override long TombstoneMs => 1500;

    protected override void Elapse(long ms) => Thread.Sleep(TimeSpan.FromMilliseconds(ms));

    protected override string Url => _url;

    protected override string Password => _redis.Password;

    protected override void StopServer() => _redis.Stop();

    protected override void StartServer() => _redis.Start();

    public void Dispose()
    {
        _store.Dispose();
        _redis.Dispose();
    }
}
