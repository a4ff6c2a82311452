using System.Collections.Concurrent;
using System.Text;

namespace JumpingVpn.Control.Metrics;

public enum MetricType
{
    Counter,
    Gauge,
}

/// <summary>One metric name with its HELP, TYPE, label names and the series created so far.</summary>
public abstract class MetricFamily
{
    private readonly ConcurrentDictionary<string, MetricSeries> _series = new(StringComparer.Ordinal);

    private protected MetricFamily(string name, string help, MetricType type, string[] labelNames)
    {
        ArgumentNullException.ThrowIfNull(help);
        ArgumentNullException.ThrowIfNull(labelNames);
        if (!PrometheusNames.IsValidMetricName(name))
        {
            throw new ArgumentException($"invalid metric name '{name}'", nameof(name));
        }
        foreach (string label in labelNames)
        {
            if (!PrometheusNames.IsValidLabelName(label))
            {
                throw new ArgumentException($"invalid label name '{label}' for {name}", nameof(labelNames));
            }
        }
        Name = name;
        Help = help;
        Type = type;
        LabelNames = [.. labelNames];
    }

    public string Name { get; }

    public string Help { get; }

    public MetricType Type { get; }

    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>A snapshot of the series created so far (any order).</summary>
    public IReadOnlyList<MetricSeries> Series => [.. _series.Values];

    private protected MetricSeries GetOrAdd(string[] labelValues, Func<long>? read)
    {
        ArgumentNullException.ThrowIfNull(labelValues);
        if (labelValues.Length != LabelNames.Count)
        {
            throw new ArgumentException($"{Name} has {LabelNames.Count} labels, got {labelValues.Length} values", nameof(labelValues));
        }
        string key = Key(labelValues);
        if (_series.TryGetValue(key, out MetricSeries? found))
        {
            return read is null ? found : throw new ArgumentException($"{Name}{key} already exists", nameof(read));
        }
        foreach (string value in labelValues)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(labelValues));
        }
        var created = new MetricSeries(this, [.. labelValues], read);
        MetricSeries actual = _series.GetOrAdd(key, created);
        if (read is not null && !ReferenceEquals(actual, created))
        {
            throw new ArgumentException($"{Name}{key} already exists", nameof(read));
        }
        return actual;
    }

    // Length-prefixed so that no two distinct label tuples share a key.
    private static string Key(string[] values)
    {
        if (values.Length == 0)
        {
            return string.Empty;
        }
        if (values.Length == 1)
        {
            return values[0] ?? string.Empty;
        }
        var builder = new StringBuilder();
        foreach (string value in values)
        {
            builder.Append(value?.Length ?? 0).Append(':').Append(value);
        }
        return builder.ToString();
    }
}

/// <summary>One time series: a label tuple and a value held here or read from a callback at scrape time.</summary>
public sealed class MetricSeries
{
    private readonly Func<long>? _read;
    private long _value;

    internal MetricSeries(MetricFamily family, string[] labelValues, Func<long>? read)
    {
        Family = family;
        LabelValues = labelValues;
        _read = read;
    }

    public MetricFamily Family { get; }

    public IReadOnlyList<string> LabelValues { get; }

    public long Value => _read is null ? Interlocked.Read(ref _value) : _read();

    internal void Add(long delta) => Interlocked.Add(ref _value, delta);

    internal void Set(long value) => Interlocked.Exchange(ref _value, value);
}

/// <summary>Monotonic counter; see <see cref="CounterFamily"/>.</summary>
public readonly struct Counter
{
    private readonly MetricSeries _series;

    internal Counter(MetricSeries series) => _series = series;

    public long Value => _series.Value;

    public void Inc() => _series.Add(1);

    /// <summary>Adds a non-negative amount (a negative one is ignored: counters never go down).</summary>
    public void Add(long amount)
    {
        if (amount > 0)
        {
            _series.Add(amount);
        }
    }
}

public readonly struct Gauge
{
    private readonly MetricSeries _series;

    internal Gauge(MetricSeries series) => _series = series;

    public long Value => _series.Value;

    public void Set(long value) => _series.Set(value);

    public void Inc() => _series.Add(1);

    public void Dec() => _series.Add(-1);

    public void Add(long delta) => _series.Add(delta);
}

public sealed class CounterFamily : MetricFamily
{
    internal CounterFamily(string name, string help, string[] labelNames) : base(name, help, MetricType.Counter, labelNames)
    {
    }

    /// <summary>The series for these label values (created on first use; keep it on hot paths).</summary>
    public Counter WithLabels(params string[] labelValues) => new(GetOrAdd(labelValues, null));

    /// <summary>A series whose value is read at scrape time (e.g. a count the data plane already keeps).</summary>
    public void AddCallback(Func<long> read, params string[] labelValues)
    {
        ArgumentNullException.ThrowIfNull(read);
        GetOrAdd(labelValues, read);
    }
}

public sealed class GaugeFamily : MetricFamily
{
    internal GaugeFamily(string name, string help, string[] labelNames) : base(name, help, MetricType.Gauge, labelNames)
    {
    }

    public Gauge WithLabels(params string[] labelValues) => new(GetOrAdd(labelValues, null));

    public void AddCallback(Func<long> read, params string[] labelValues)
    {
        ArgumentNullException.ThrowIfNull(read);
        GetOrAdd(labelValues, read);
    }
}
