using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Metrics;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>Store URLs, the [Jumping] cluster keys, store metrics and record retention.</summary>
public sealed class ClusterConfigTests
{
    [Theory]
    [InlineData("redis://10.0.0.5:6380/2?prefix=blue&timeout=300ms&lease=5s", "redis", "10.0.0.5", 6380, 2, "blue", 300, 5000)]
    [InlineData("redis://store.example", "redis", "store.example", 6379, 0, "jvpn", 200, 10000)]
    [InlineData("memory", "memory", "", 0, 0, "jvpn", 200, 10000)]
    public void Store_urls_parse(string text, string scheme, string host, int port, int db, string prefix, int timeoutMs, long leaseMs)
    {
        Assert.True(StoreUrl.TryParse(text, out StoreUrl url, out string? problem), problem);
        Assert.Equal((scheme, host, port, db, prefix, timeoutMs, leaseMs), (url.Scheme, url.Host, url.Port, url.Database, url.Prefix, url.TimeoutMs, url.LeaseMs));
    }

    [Theory]
    [InlineData("redis://user:secret@10.0.0.5", "StorePasswordFile")]
    [InlineData("http://10.0.0.5", "not a store")]
    [InlineData("redis://10.0.0.5/x", "database number")]
    [InlineData("redis://10.0.0.5?lease=10", "needs a unit")]
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
        TunnelConfig c = Config(new() { ["store"] = "redis://10.0.0.5", ["lease"] = "4s" });
        Assert.Equal(("10.0.0.5", 4000L), (JumpingOptionsParser.ParseStore(c, null)!.Host, JumpingOptionsParser.ParseStore(c, null)!.LeaseMs));
        Assert.Equal("10.0.0.9", JumpingOptionsParser.ParseStore(c, "redis://10.0.0.9:7000")!.Host);
        ConfigException bad = Assert.Throws<ConfigException>(() => JumpingOptionsParser.ParseStore(c, "redis://"));
        Assert.Contains("--store", bad.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "memory", ["lease"] = "800ms" }), null));
        // The cluster keys are not policy keys.
        SessionPolicyParser.Parse(new Dictionary<string, string> { ["store"] = "memory", ["lease"] = "3s", ["ownerup"] = "x", ["ownerdown"] = "y", ["endpoints"] = "a:1" }, null);
    }

    [Fact]
    public void Store_health_and_operations_appear_in_the_metrics()
    {
        using var cluster = new ClusterCoordinator(new InMemorySessionStore(), "n1", 3000, NullLogger.Instance);
        var metrics = new JvpnMetrics();
        ClusterSetup.BindMetrics(metrics, cluster);
        cluster.RenewOnce();
        string text = PrometheusTextFormatter.Format(metrics.Registry);
        Assert.Contains("jvpn_store_up 1", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_cluster_leases 0", text, StringComparison.Ordinal);
        Assert.Contains("jvpn_store_operations_total{result=\"unavailable\"} 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_nobody_renews_leaves_the_store_after_its_lease_plus_the_retention_time()
    {
        var clock = new ManualTimeProvider();
        using var store = new InMemorySessionStore(clock);
        var id = SessionId.Read([9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 7]);
        store.Create(new OwnershipRecord { Id = id, PeerKey = "k", OwnerNode = "n1", State = SessionState.Attached, StateVersion = 1 }, 3000);
        clock.Advance(TimeSpan.FromMilliseconds(3000 + InMemorySessionStore.RetainAfterLeaseMs - 1000));
        Assert.True(store.Read(id).IsOk);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(StoreStatus.NotFound, store.Read(id).Status);
    }
}
