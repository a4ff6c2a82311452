namespace JumpingVpn.Control.Audit;

/// <summary>Bounds and identity of an <see cref="AuditPipeline"/>; every queue is fixed-size (docs/design.md §7).</summary>
public sealed class AuditPipelineOptions
{
    /// <summary>Events buffered between producers and the consumer thread; beyond this, events are dropped.</summary>
    public int Capacity { get; init; } = 4096;

    /// <summary>Sessions named individually in AUDIT_GAP per drop streak; further ones are only counted.</summary>
    public int MaxGapSessions { get; init; } = 64;

    /// <summary>Written as <c>node_id</c> on the AUDIT_GAP events the pipeline itself generates.</summary>
    public string? NodeId { get; init; }

    /// <summary>Source of <c>ts_ms</c> for AUDIT_GAP events.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How long Dispose waits for the consumer to drain before giving up on a stuck sink.</summary>
    public TimeSpan DisposeTimeout { get; init; } = TimeSpan.FromSeconds(2);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxGapSessions);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
