namespace JumpingVpn.Fuzz.Targets;

/// <summary>A clock that never moves, so one input always takes the same path (afl stability).</summary>
internal sealed class FixedClock : TimeProvider
{
    public static FixedClock Instance { get; } = new();

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => 1_000L * 1_000_000_000;

    public override DateTimeOffset GetUtcNow() => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
}
