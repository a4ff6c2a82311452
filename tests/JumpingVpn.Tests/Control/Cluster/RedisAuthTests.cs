using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Policy;
using JumpingVpn.Platform;
using JumpingVpn.Tests.Infrastructure;
using TunnelConfig = JumpingVpn.Control.Config.TunnelConfig;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// A Redis configured the way an operator runs it (protected mode, a password, an ACL user, TLS with its
/// own CA): jvpn gets in with the right settings, and stops with the store's reason otherwise.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RedisAuthTests
{
    private static TunnelConfig Config(Dictionary<string, string> jumping) => new()
    {
        InterfaceName = "jv0",
        SourcePath = "/etc/jvpn/jv0.conf",
        Interface = new InterfaceSection { PrivateKey = new byte[32] },
        Jumping = jumping,
    };

    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    [Fact]
    public void A_node_with_the_password_file_of_a_requirepass_redis_connects()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        StoreUrl url = JumpingOptionsParser.ParseStore(Config(new() { ["store"] = redis.Url("auth"), ["storepasswordfile"] = redis.PasswordFile }), null, _ => null)!;
        using ISessionStore store = url.Open();
        Assert.Null(((RedisSessionStore)store).AuthenticationProblem);
        Assert.True(store.Ping(out _));
        Assert.True(store.Heartbeat(new ClusterNodeInfo("n1", 1, 1, "", false, 0)));
        Assert.Equal("n1", Assert.Single(store.ListNodes()!).NodeId);
    }

    [Fact]
    public void An_acl_user_gets_in_with_its_password_and_a_wrong_or_missing_password_is_a_clear_refusal_at_start()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew(security: RedisSecurity.AclUser("jvnode"));
        using (ISessionStore ok = redis.StoreUrl("acl").Open())
        {
            Assert.True(ok.Ping(out _));
        }

        StoreUrl wrong = redis.StoreUrl("acl") with { Access = new StoreAccess("jvnode", "not-the-password", null, null, null, null) };
        using (var refused = (RedisSessionStore)wrong.Open())
        {
            Assert.NotNull(refused.AuthenticationProblem);
            Assert.Contains("not accepted", refused.AuthenticationProblem, StringComparison.Ordinal);
        }

        Assert.True(StoreUrl.TryParse(redis.Url("acl").Replace("jvnode@", "", StringComparison.Ordinal), out StoreUrl anonymous, out _));
        using (var noPassword = (RedisSessionStore)anonymous.Open())
        {
            Assert.Contains("requires a password", noPassword.AuthenticationProblem, StringComparison.Ordinal);
        }

        // `jvpn up` stops with the store's reason (one line, no stack trace: Program prints PlatformException.Message).
        PlatformException e = Assert.Throws<PlatformException>(() => StartCluster(wrong));
        Assert.StartsWith("store redis://jvnode@", e.Message, StringComparison.Ordinal);
        Assert.Contains("refused authentication: the user and password were not accepted", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", e.Message, StringComparison.Ordinal);
    }

    private static void StartCluster(StoreUrl url)
    {
        var device = new WireGuardDevice(new DeviceOptions { Time = new ManualTimeProvider(), Random = new DeterministicRandom(1).Fill }, new WireSender());
        device.SetPrivateKey(new byte[32] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 });
        using ClusterCoordinator c = ClusterSetup.Start(url, "n1", device, new HashSet<Peer>(), [], "", NullLogger.Instance);
    }

    [Fact]
    public void Cluster_status_reads_the_password_from_the_configs_password_file_and_names_an_authentication_refusal()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        string dir = Directory.CreateTempSubdirectory("jvcli").FullName;
        try
        {
            string conf = Path.Combine(dir, "jvst0.conf");
            File.WriteAllText(conf, $"[Interface]\nPrivateKey = {Convert.ToBase64String(new byte[32])}\n\n[Jumping]\nStore = {redis.Url("cli")}\nStorePasswordFile = {redis.PasswordFile}\n");
            File.SetUnixFileMode(conf, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            CommandResult ok = Jvpn("cluster", "status", "--config", conf);
            Assert.True(ok.ExitCode == 0, ok.StandardError);
            Assert.Contains("(up,", ok.StandardOutput, StringComparison.Ordinal);

            CommandResult refused = Jvpn("cluster", "status", "--store", redis.Url("cli"));
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("refused authentication", refused.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", refused.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tls_store_is_reached_with_its_ca_and_refused_with_a_wrong_ca_or_a_wrong_server_name()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew(security: RedisSecurity.WithTls("127.0.0.1", "redis.jv.test"));
        StoreUrl url = redis.StoreUrl("tls", timeout: "5s");
        Assert.StartsWith("rediss://", redis.Url("tls"), StringComparison.Ordinal);
        using (var ok = (RedisSessionStore)url.Open())
        {
            Assert.Null(ok.AuthenticationProblem);
            Assert.True(ok.Ping(out _), ok.LastError);
        }
        using (var named = (RedisSessionStore)(url with { Access = url.Access with { ServerName = "redis.jv.test" } }).Open())
        {
            Assert.True(named.Ping(out _), named.AuthenticationProblem);
        }

        string other = Directory.CreateTempSubdirectory("jvca").FullName;
        try
        {
            TestCertificates otherCa = TestCertificates.Create(other, ["127.0.0.1"]);
            using (var wrongCa = (RedisSessionStore)(url with { Access = url.Access with { CaFile = otherCa.CaFile } }).Open())
            {
                Assert.False(wrongCa.Ping(out _));
                Assert.Contains("not signed by the CA", wrongCa.AuthenticationProblem, StringComparison.Ordinal);
            }
            using (var wrongName = (RedisSessionStore)(url with { Access = url.Access with { ServerName = "elsewhere.jv.test" } }).Open())
            {
                Assert.False(wrongName.Ping(out _));
                Assert.Contains("expected name", wrongName.AuthenticationProblem, StringComparison.Ordinal);
            }
            // No CA named: the system store does not know the test CA.
            using (var system = (RedisSessionStore)(url with { Access = url.Access with { CaFile = null } }).Open())
            {
                Assert.False(system.Ping(out _));
                Assert.Contains("StoreCaFile", system.AuthenticationProblem, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public void A_tls_store_that_demands_client_certificates_accepts_the_node_with_StoreCertFile_and_StoreKeyFile()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew(security: RedisSecurity.WithClientCertificates());
        StoreUrl url = redis.StoreUrl("mtls", timeout: "5s");
        using (ISessionStore without = url.Open())
        {
            Assert.False(without.Ping(out _));
        }
        using var with = (RedisSessionStore)(url with { Access = url.Access with { CertFile = redis.Tls!.ClientCertFile, KeyFile = redis.Tls.ClientKeyFile } }).Open();
        Assert.True(with.Ping(out _), with.AuthenticationProblem ?? with.LastError);
    }

    [Fact]
    public void Jvpn_up_against_a_password_redis_stops_with_the_stores_reason_and_refuses_an_open_password_file()
    {
        Requirements.Ensure("redis-server");
        using NetNs ns = NetNs.Create("st");
        using RedisServer redis = RedisServer.StartNew(ns, "127.0.0.1");
        string dir = Directory.CreateTempSubdirectory("jvup").FullName;
        try
        {
            string conf = Path.Combine(dir, "jvst1.conf");
            string key = Convert.ToBase64String(Enumerable.Repeat((byte)5, 32).ToArray());
            File.WriteAllText(conf, $"[Interface]\nPrivateKey = {key}\nListenPort = 51931\nAddress = 10.79.0.1/24\n\n[Jumping]\nNodeId = n1\nStore = {redis.Url("up")}\n");
            File.SetUnixFileMode(conf, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            CommandResult noPassword = ns.TryExec(Binaries.Dotnet(), [Binaries.JvpnDll, "up", conf], TimeSpan.FromSeconds(60));
            Assert.True(noPassword.ExitCode == 1, $"exit {noPassword.ExitCode}: {noPassword.StandardError}");
            Assert.Contains("refused authentication: Redis requires a password", noPassword.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", noPassword.StandardError, StringComparison.Ordinal);

            File.SetUnixFileMode(redis.PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            File.AppendAllText(conf, $"StorePasswordFile = {redis.PasswordFile}\n");
            CommandResult open = ns.TryExec(Binaries.Dotnet(), [Binaries.JvpnDll, "up", conf], TimeSpan.FromSeconds(60));
            Assert.Equal(3, open.ExitCode);
            Assert.Contains("chmod 600 " + redis.PasswordFile, open.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
