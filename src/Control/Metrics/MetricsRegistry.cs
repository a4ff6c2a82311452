namespace JumpingVpn.Control.Metrics;

/// <summary>
/// Named metric families (counters and gauges with labels) rendered by <see cref="PrometheusTextFormatter"/>.
/// Registration and first use of a label set are cold (a lock / a dictionary insert); updating a child is
/// one Interlocked operation, so hot paths resolve their child once and keep it.
/// </summary>
public sealed class MetricsRegistry
{
    private readonly Lock _lock = new();
    private readonly List<MetricFamily> _families = [];

    /// <summary>A counter family; <paramref name="labelNames"/> empty means one unlabeled series.</summary>
    public CounterFamily AddCounter(string name, string help, params string[] labelNames)
        => Add(new CounterFamily(name, help, labelNames));

    public GaugeFamily AddGauge(string name, string help, params string[] labelNames)
        => Add(new GaugeFamily(name, help, labelNames));

    /// <summary>Families in registration order (the order of the exposition).</summary>
    public IReadOnlyList<MetricFamily> Families
    {
        get
        {
            lock (_lock)
            {
                return [.. _families];
            }
        }
    }

    private T Add<T>(T family) where T : MetricFamily
    {
        lock (_lock)
        {
            foreach (MetricFamily existing in _families)
            {
                if (string.Equals(existing.Name, family.Name, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"metric {family.Name} is already registered", nameof(family));
                }
            }
            _families.Add(family);
        }
        return family;
    }
}
