namespace JumpingVpn.Testing;

/// <summary>A clock that moves only when told to: monotonic ns timestamps plus a matching wall clock.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private long _ns = 1_000_000_000;
    private DateTimeOffset _utc = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => Interlocked.Read(ref _ns);

    public override DateTimeOffset GetUtcNow() => _utc;

    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _ns, by.Ticks * 100);
        _utc += by;
    }
}
