using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Metrics;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>Store URLs, the [Jumping] cluster keys and store metrics.</summary>
public sealed class ClusterConfigTests
{
    [Theory]
    [InlineData("redis://10.0.0.5:6380/2?prefix=blue&timeout=300ms&nodettl=5s", "redis", "10.0.0.5", 6380, 2, "blue", 300, 5000)]
    [InlineData("redis://store.example", "redis", "store.example", 6379, 0, "jvpn", 200, 700)]
    [InlineData("memory", "memory", "", 0, 0, "jvpn", 200, 700)]
    public void Store_urls_parse(string text, string scheme, string host, int port, int db, string prefix, int timeoutMs, long nodeTtlMs)
    {
        Assert.True(StoreUrl.TryParse(text, out StoreUrl url, out string? problem), problem);
        Assert.Equal((scheme, host, port, db, prefix, timeoutMs, nodeTtlMs), (url.Scheme, url.Host, url.Port, url.Database, url.Prefix, url.TimeoutMs, url.NodeTtlMs));
    }

    [Theory]
    [InlineData("redis://user:secret@10.0.0.5", "StorePasswordFile")]
    [InlineData("http://10.0.0.5", "not a store")]
    [InlineData("redis://10.0.0.5/x", "database number")]
    [InlineData("redis://10.0.0.5?nodettl=10", "needs a unit")]
    [InlineData("redis://10.0.0.5?nodettl=100ms", "at least 300ms")]
    [InlineData("redis://10.0.0.5?lease=10s", "per-session leases no longer exist")]
    [InlineData("redis://10.0.0.5?color=red", "unknown parameter")]
    public void Bad_store_urls_are_refused_with_the_reason(string text, string expected)
    {
        Assert.False(StoreUrl.TryParse(text, out _, out string? problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    private static TunnelConfig Config(Dictionary<string, string> jumping) => new()
    {
        InterfaceName = "jv0",
        SourcePath = "/etc/wireguard/jv0.conf",
        Interface = new InterfaceSection { PrivateKey = new byte[32] },
        Jumping = jumping,
    };

    [Fact]
    public void The_command_line_store_overrides_the_config_and_no_store_means_a_single_server()
    {
        Assert.Null(JumpingOptionsParser.ParseStore(Config([]), null));
        TunnelConfig c = Config(new() { ["store"] = "redis://10.0.0.5", ["nodettl"] = "2s" });
        Assert.Equal(("10.0.0.5", 2000L), (JumpingOptionsParser.ParseStore(c, null)!.Host, JumpingOptionsParser.ParseStore(c, null)!.NodeTtlMs));
        Assert.Equal(700L, JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "memory" }), null)!.NodeTtlMs);
        Assert.Equal("10.0.0.9", JumpingOptionsParser.ParseStore(c, "redis://10.0.0.9:7000")!.Host);
        ConfigException bad = Assert.Throws<ConfigException>(() => JumpingOptionsParser.ParseStore(c, "redis://"));
        Assert.Contains("--store", bad.Message, StringComparison.Ordinal);
        ConfigException shortTtl = Assert.Throws<ConfigException>(() => JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "memory", ["nodettl"] = "200ms" }), null));
        Assert.Contains("at least 300ms", shortTtl.Message, StringComparison.Ordinal);
        // Lease named a per-session lease that no longer exists: refused with what replaced it.
        ConfigException lease = Assert.Throws<ConfigException>(() => JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "memory", ["lease"] = "10s" }), null));
        Assert.Contains("NodeTtl", lease.Message, StringComparison.Ordinal);
        // The cluster keys are not policy keys.
        SessionPolicyParser.Parse(new Dictionary<string, string> { ["store"] = "memory", ["nodettl"] = "3s", ["advertiseendpoint"] = "192.0.2.1:51820", ["ownerup"] = "x", ["ownerdown"] = "y", ["endpoints"] = "a:1" }, null);
    }

    [Fact]
    public void Store_health_and_operations_appear_in_the_metrics()
    {
        using var cluster = new ClusterCoordinator(new InMemorySessionStore(), "n1", 3000, NullLogger.Instance) { Dispatch = static w => w() };
        var metrics = new JvpnMetrics();
        ClusterSetup.BindMetrics(metrics, cluster);
        cluster.Tick();
        string text = PrometheusTextFormatter.Format(metrics.Registry);
        Assert.Contains("jvpn_store_up 1", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_cluster_owned_sessions 0", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_cluster_node_epoch 1", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_cluster_heartbeats_total{result=\"ok\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_cluster_fences_total 0", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_store_operations_total{result=\"unavailable\"} 0", text, StringComparison.Ordinal);
    }
}
