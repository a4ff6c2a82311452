using System.Diagnostics;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Tests.Infrastructure;
using TunnelConfig = JumpingVpn.Control.Config.TunnelConfig;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// An etcd configured the way an operator runs it (authentication on, optionally TLS with its own CA): jvpn
/// gets in with the right user and password, is refused with etcd's reason otherwise, and an etcd that is
/// not there answers unavailable within the operation timeout.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EtcdAuthTests
{
    private static TunnelConfig Config(Dictionary<string, string> jumping) => new()
    {
        InterfaceName = "jv0",
        SourcePath = "/etc/jvpn/jv0.conf",
        Interface = new InterfaceSection { PrivateKey = new byte[32] },
        Jumping = jumping,
    };

    [Fact]
    public void A_node_with_the_user_and_password_file_connects_and_a_wrong_or_missing_password_is_a_clear_refusal()
    {
        Requirements.EnsureTools("etcd");
        using EtcdServer etcd = EtcdServer.StartNew();
        StoreUrl url = JumpingOptionsParser.ParseStore(Config(new() { ["store"] = etcd.Url("auth"), ["storepasswordfile"] = etcd.PasswordFile }), null, _ => null)!;
        using (var store = (EtcdSessionStore)url.Open())
        {
            Assert.Null(store.AuthenticationProblem);
            Assert.True(store.Ping(out _), store.LastError);
            Assert.True(store.Heartbeat(new ClusterNodeInfo("n1", 1, 1, "", false, 0)));
            Assert.Equal("n1", Assert.Single(store.ListNodes()!).NodeId);
        }

        using (var wrong = (EtcdSessionStore)(url with { Access = new StoreAccess(EtcdServer.User, "not-the-password", null, null, null, null) }).Open())
        {
            Assert.Contains("not accepted", wrong.AuthenticationProblem, StringComparison.Ordinal);
            Assert.DoesNotContain("not-the-password", wrong.AuthenticationProblem, StringComparison.Ordinal);
            Assert.False(wrong.Ping(out _));
        }

        Assert.True(StoreUrl.TryParse(etcd.Url("auth").Replace(EtcdServer.User + "@", "", StringComparison.Ordinal), out StoreUrl anonymous, out _));
        using (var noPassword = (EtcdSessionStore)anonymous.Open())
        {
            Assert.Contains("requires a user and password", noPassword.AuthenticationProblem, StringComparison.Ordinal);
        }
    }

    private static JumpingVpn.Control.Sessions.SessionId RandomId()
    {
        Span<byte> b = stackalloc byte[JumpingVpn.Control.Sessions.SessionId.Size];
        System.Security.Cryptography.RandomNumberGenerator.Fill(b);
        return JumpingVpn.Control.Sessions.SessionId.Read(b);
    }

    [Fact]
    public void An_etcd_that_is_not_there_answers_unavailable_within_the_timeout_and_is_not_an_authentication_problem()
    {
        Requirements.EnsureTools("etcd");
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        Assert.True(StoreUrl.TryParse($"etcd://root@127.0.0.1:{port}?timeout=300ms", out StoreUrl url, out _));
        var sw = Stopwatch.StartNew();
        using var store = (EtcdSessionStore)(url with { Access = new StoreAccess("root", "pw", null, null, null, null) }).Open();
        Assert.Null(store.AuthenticationProblem);
        Assert.Equal(StoreStatus.Unavailable, store.Read(RandomId()).Status);
        Assert.Equal(StoreStatus.Unavailable, store.Acquire(RandomId(), "n1", 1, new AcquireExpectation("n0", 1, 1, 1, default)).Status);
        Assert.Equal(0UL, store.RegisterNode("n1"));
        Assert.Null(store.ListNodes());
        Assert.False(store.Heartbeat(new ClusterNodeInfo("n1", 1, 1, "", false, 0)));
        Assert.Empty(store.ListSessions());
        Assert.False(store.Ping(out _));
        Assert.True(sw.ElapsedMilliseconds < 5000, $"unavailable answers took {sw.ElapsedMilliseconds} ms");
        Assert.NotNull(store.LastError);
    }

    [Fact]
    public void A_tls_etcd_is_reached_with_its_ca_and_refused_with_a_wrong_ca_or_a_wrong_server_name()
    {
        Requirements.EnsureTools("etcd");
        using EtcdServer etcd = EtcdServer.StartNew(tls: true);
        StoreUrl url = etcd.StoreUrl("tls", timeout: "5s");
        Assert.StartsWith("etcds://", etcd.Url("tls"), StringComparison.Ordinal);
        using (var ok = (EtcdSessionStore)url.Open())
        {
            Assert.Null(ok.AuthenticationProblem);
            Assert.True(ok.Ping(out _), ok.LastError);
        }
        string other = Directory.CreateTempSubdirectory("jvca").FullName;
        try
        {
            TestCertificates otherCa = TestCertificates.Create(other, ["127.0.0.1"]);
            using (var wrongCa = (EtcdSessionStore)(url with { Access = url.Access with { CaFile = otherCa.CaFile } }).Open())
            {
                Assert.False(wrongCa.Ping(out _));
                Assert.Contains("not signed by the CA", wrongCa.AuthenticationProblem, StringComparison.Ordinal);
            }
            using (var wrongName = (EtcdSessionStore)(url with { Access = url.Access with { ServerName = "elsewhere.jv.test" } }).Open())
            {
                Assert.False(wrongName.Ping(out _));
                Assert.Contains("expected name", wrongName.AuthenticationProblem, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public void A_tls_etcd_that_demands_client_certificates_accepts_the_node_with_StoreCertFile_and_StoreKeyFile()
    {
        Requirements.EnsureTools("etcd");
        using EtcdServer etcd = EtcdServer.StartNew(clientCertificates: true);
        StoreUrl url = etcd.StoreUrl("mtls", timeout: "5s");
        using (var without = (EtcdSessionStore)url.Open())
        {
            Assert.False(without.Ping(out _));
        }
        using var with = (EtcdSessionStore)(url with { Access = url.Access with { CertFile = etcd.Tls!.ClientCertFile, KeyFile = etcd.Tls.ClientKeyFile } }).Open();
        Assert.Null(with.AuthenticationProblem);
        Assert.True(with.Ping(out _), with.LastError);
    }
}
