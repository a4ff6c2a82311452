namespace JumpingVpn.Control.Metrics;

/// <summary>Name rules of the Prometheus data model (prometheus.io/docs/concepts/data_model).</summary>
internal static class PrometheusNames
{
    /// <summary><c>[a-zA-Z_:][a-zA-Z0-9_:]*</c></summary>
    public static bool IsValidMetricName(string? name) => IsValid(name, allowColon: true);

    /// <summary><c>[a-zA-Z_][a-zA-Z0-9_]*</c>, not starting with <c>__</c> (reserved).</summary>
    public static bool IsValidLabelName(string? name)
        => IsValid(name, allowColon: false) && !name!.StartsWith("__", StringComparison.Ordinal);

    private static bool IsValid(string? name, bool allowColon)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = char.IsAsciiLetter(c) || c == '_' || (allowColon && c == ':') || (i > 0 && char.IsAsciiDigit(c));
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }
}
