using JumpingVpn.Control.Cluster;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>The store contract against the embedded in-memory store, with a manual clock.</summary>
public sealed class InMemorySessionStoreTests : SessionStoreContract, IDisposable
{
    private readonly ManualTimeProvider _clock = new();
    private readonly InMemorySessionStore _store;

    public InMemorySessionStoreTests() => _store = new InMemorySessionStore(_clock);

    protected override ISessionStore Store => _store;

    protected override void Elapse(long ms) => _clock.Advance(TimeSpan.FromMilliseconds(ms));

    public void Dispose() => _store.Dispose();
}
