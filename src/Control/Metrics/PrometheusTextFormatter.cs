using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Metrics;

/// <summary>
/// Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats):
/// per family <c># HELP</c>, <c># TYPE</c>, then one <c>name{label="value",...} value</c> line per series,
/// lines ending in <c>\n</c>. Series are sorted by label values so the output is deterministic.
/// </summary>
public static class PrometheusTextFormatter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Format(MetricsRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var builder = new StringBuilder(4096);
        foreach (MetricFamily family in registry.Families)
        {
            AppendFamily(builder, family);
        }
        return builder.ToString();
    }

    private static void AppendFamily(StringBuilder builder, MetricFamily family)
    {
        builder.Append("# HELP ").Append(family.Name).Append(' ');
        AppendEscaped(builder, family.Help, escapeQuote: false);
        builder.Append('\n');
        builder.Append("# TYPE ").Append(family.Name).Append(' ')
            .Append(family.Type == MetricType.Counter ? "counter" : "gauge").Append('\n');

        MetricSeries[] series = [.. family.Series];
        Array.Sort(series, CompareLabels);
        foreach (MetricSeries s in series)
        {
            long value;
            try
            {
                value = s.Value;
            }
            catch (Exception)
            {
                continue; // a failing callback loses its sample, not the scrape
            }
            builder.Append(family.Name);
            if (family.LabelNames.Count > 0)
            {
                builder.Append('{');
                for (int i = 0; i < family.LabelNames.Count; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }
                    builder.Append(family.LabelNames[i]).Append("=\"");
                    AppendEscaped(builder, s.LabelValues[i], escapeQuote: true);
                    builder.Append('"');
                }
                builder.Append('}');
            }
            builder.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static int CompareLabels(MetricSeries a, MetricSeries b)
    {
        for (int i = 0; i < a.LabelValues.Count; i++)
        {
            int c = string.CompareOrdinal(a.LabelValues[i], b.LabelValues[i]);
            if (c != 0)
            {
                return c;
            }
        }
        return 0;
    }

    /// <summary>HELP escapes <c>\</c> and newline; label values also escape <c>"</c>.</summary>
    private static void AppendEscaped(StringBuilder builder, string text, bool escapeQuote)
    {
        foreach (char c in text)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '"' when escapeQuote:
                    builder.Append("\\\"");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
    }
}
