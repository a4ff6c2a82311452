using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>`etcd://` and `etcds://` store URLs (docs/cluster.md "etcd"): members, user, parameters, and what is refused.</summary>
public sealed class EtcdStoreUrlTests
{
    [Theory]
    [InlineData("etcd://10.0.0.5", "etcd", "10.0.0.5:2379", null, "jvpn", 200, 700)]
    [InlineData("etcd://jvpn@10.0.0.5:2381,10.0.0.6,etcd-3.internal:2379/?prefix=blue&timeout=300ms&nodettl=5s", "etcd", "10.0.0.5:2381,10.0.0.6:2379,etcd-3.internal:2379", "jvpn", "blue", 300, 5000)]
    [InlineData("etcds://[fd00::5]:2379,[fd00::6]", "etcds", "[fd00::5]:2379,[fd00::6]:2379", null, "jvpn", 200, 700)]
    [InlineData("ETCD://node@h1", "etcd", "h1:2379", "node", "jvpn", 200, 700)]
    public void Etcd_urls_parse_every_member(string text, string scheme, string members, string? user, string prefix, int timeoutMs, long nodeTtlMs)
    {
        Assert.True(StoreUrl.TryParse(text, out StoreUrl url, out string? problem), problem);
        Assert.True(url.IsEtcd);
        Assert.Equal(scheme == "etcds", url.Tls);
        Assert.Equal((scheme, members, user, prefix, timeoutMs, nodeTtlMs),
            (url.Scheme, string.Join(',', url.Endpoints), url.User, url.Prefix, url.TimeoutMs, url.NodeTtlMs));
        Assert.Equal((url.Endpoints[0].Host, url.Endpoints[0].Port), (url.Host, url.Port));
        Assert.Equal($"{scheme}://{(user is null ? "" : user + "@")}{members}?prefix={prefix}", url.ToString());
    }

    [Theory]
    [InlineData("etcd://root:secret@10.0.0.5:2379", "StorePasswordFile")]
    [InlineData("etcd://10.0.0.5:2379,", "is not HOST[:PORT]")]
    [InlineData("etcd://10.0.0.5:70000", "is not HOST[:PORT]")]
    [InlineData("etcd://10.0.0.5:2379/db", "is not HOST[:PORT]")]
    [InlineData("etcd://[not-v6]:2379", "is not HOST[:PORT]")]
    [InlineData("etcd://@10.0.0.5", "empty user")]
    [InlineData("etcd://10.0.0.5?nodettl=10", "needs a unit")]
    [InlineData("etcd://10.0.0.5?lease=10s", "per-session leases no longer exist")]
    [InlineData("etcd://10.0.0.5?color=red", "unknown parameter")]
    public void Bad_etcd_urls_are_refused_with_the_reason(string text, string expected)
    {
        Assert.False(StoreUrl.TryParse(text, out _, out string? problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", problem, StringComparison.Ordinal);
    }

    private static TunnelConfig Config(Dictionary<string, string> jumping) => new()
    {
        InterfaceName = "jv0",
        SourcePath = "/etc/jvpn/jv0.conf",
        Interface = new InterfaceSection { PrivateKey = new byte[32] },
        Jumping = jumping,
    };

    [Fact]
    public void The_access_keys_apply_to_etcd_as_to_redis_and_tls_keys_need_etcds()
    {
        StoreUrl url = JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "etcd://10.0.0.5", ["storeuser"] = "jvpn" }), null, _ => "pw")!;
        Assert.Equal(("jvpn", "pw"), (url.Access.User, url.Access.Password));
        Assert.DoesNotContain("pw", url.ToString(), StringComparison.Ordinal);

        ConfigException notTls = Assert.Throws<ConfigException>(() =>
            JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "etcd://10.0.0.5", ["storeservername"] = "etcd.internal" }), null, _ => null));
        Assert.Contains("etcds://", notTls.Message, StringComparison.Ordinal);

        ConfigException noPassword = Assert.Throws<ConfigException>(() =>
            JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "etcd://root@10.0.0.5" }), null, _ => null));
        Assert.Contains("needs a password", noPassword.Message, StringComparison.Ordinal);
    }
}
