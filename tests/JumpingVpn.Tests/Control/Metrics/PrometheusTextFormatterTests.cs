using JumpingVpn.Control.Metrics;

namespace JumpingVpn.Tests.Control.Metrics;

public sealed class PrometheusTextFormatterTests
{
    [Fact]
    public void Formats_a_small_registry_exactly()
    {
        var registry = new MetricsRegistry();
        CounterFamily transitions = registry.AddCounter("jvpn_t_total", "Transitions.\nSecond \\ line.", "from", "reason");
        transitions.WithLabels("ATTACHED", "NAT_REBIND").Add(2);
        transitions.WithLabels("ATTACHED", "A\"b\\c\nd").Inc();
        registry.AddGauge("jvpn_g", "A gauge.").WithLabels().Set(-3);
        registry.AddCounter("jvpn_cb_total", "Callback.", "direction").AddCallback(() => 42, "rx");
        registry.AddCounter("jvpn_empty_total", "No series yet.", "reason");

        string expected =
            "# HELP jvpn_t_total Transitions.\\nSecond \\\\ line.\n" +
            "# TYPE jvpn_t_total counter\n" +
            "jvpn_t_total{from=\"ATTACHED\",reason=\"A\\\"b\\\\c\\nd\"} 1\n" +
            "jvpn_t_total{from=\"ATTACHED\",reason=\"NAT_REBIND\"} 2\n" +
            "# HELP jvpn_g A gauge.\n" +
            "# TYPE jvpn_g gauge\n" +
            "jvpn_g -3\n" +
            "# HELP jvpn_cb_total Callback.\n" +
            "# TYPE jvpn_cb_total counter\n" +
            "jvpn_cb_total{direction=\"rx\"} 42\n" +
            "# HELP jvpn_empty_total No series yet.\n" +
            "# TYPE jvpn_empty_total counter\n";
        Assert.Equal(expected, PrometheusTextFormatter.Format(registry));
    }

    [Fact]
    public void Rejects_invalid_names_duplicates_and_wrong_label_counts()
    {
        var registry = new MetricsRegistry();
        Assert.Throws<ArgumentException>(() => registry.AddCounter("1bad", "x"));
        Assert.Throws<ArgumentException>(() => registry.AddCounter("ok", "x", "__reserved"));
        CounterFamily family = registry.AddCounter("dup", "x", "a");
        Assert.Throws<ArgumentException>(() => registry.AddGauge("dup", "x"));
        Assert.Throws<ArgumentException>(() => family.WithLabels("1", "2"));
    }

    [Fact]
    public void Counters_are_exact_under_concurrency_and_never_go_down()
    {
        var registry = new MetricsRegistry();
        CounterFamily family = registry.AddCounter("c_total", "x", "k");
        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                family.WithLabels("v").Inc();
            }
        });
        Counter c = family.WithLabels("v");
        c.Add(-5);
        Assert.Equal(80_000, c.Value);
    }

    [Fact]
    public void JvpnMetrics_names_render_with_all_states()
    {
        var metrics = new JvpnMetrics();
        metrics.SessionCreated();
        metrics.Transition("BIRTH", "ATTACHED", "HELLO_RECEIVED");
        metrics.ReattachRejected("VERSION_OUT_OF_WINDOW");
        metrics.Switch();
        metrics.Handshake();
        metrics.Drop("REPLAY");
        metrics.BindTraffic(() => 1, () => 2, () => 100, () => 200);
        metrics.BindAudit(() => 3, () => 4);
        string text = PrometheusTextFormatter.Format(metrics.Registry);
        Assert.Contains("jvpn_sessions{state=\"ATTACHED\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_sessions{state=\"BIRTH\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_sessions{state=\"TERMINATED\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_session_transitions_total{from=\"BIRTH\",to=\"ATTACHED\",reason=\"HELLO_RECEIVED\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_reattach_rejections_total{reason=\"VERSION_OUT_OF_WINDOW\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_switches_total 1\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_handshakes_total 1\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_packets_total{direction=\"tx\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_bytes_total{direction=\"rx\"} 100\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_drops_total{reason=\"REPLAY\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_audit_dropped_total 3\n", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_audit_sink_errors_total 4\n", text, StringComparison.Ordinal);
    }
}
