using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Cli;

/// <summary>`jvpn cluster status` and `jvpn up --store`: clear one-line errors with documented exit codes, and the status of a live store.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClusterCliTests
{
    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    /// <summary>jvpn with the store password in its environment (as `jvpn cluster` finds it without a config).</summary>
    private static CommandResult JvpnWithPassword(string password, params string[] args) =>
        Command.TryRun(Binaries.Find("env"), [StoreAccess.PasswordVariable + "=" + password, "dotnet", Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    [Fact]
    public void Cluster_status_needs_a_store_and_refuses_bad_urls()
    {
        CommandResult none = Jvpn("cluster", "status");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("--store", none.StandardError, StringComparison.Ordinal);

        CommandResult creds = Jvpn("cluster", "status", "--store", "redis://user:secret@10.0.0.5");
        Assert.Equal(3, creds.ExitCode);
        Assert.Contains("StorePasswordFile", creds.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", creds.StandardError, StringComparison.Ordinal);
        Assert.Single(creds.StandardError.Trim().Split('\n'));

        CommandResult down = Jvpn("cluster", "status", "--store", "redis://127.0.0.1:1/0?timeout=200ms");
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("unreachable", down.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Up_with_a_bad_store_url_fails_before_touching_the_system_with_exit_code_3()
    {
        string dir = Directory.CreateTempSubdirectory("jvcli").FullName;
        string path = Path.Combine(dir, "jvst0.conf");
        File.WriteAllText(path, "[Interface]\nPrivateKey = " + Convert.ToBase64String(new byte[32]) + "\nListenPort = 51999\n");
        CommandResult r = Jvpn("up", path, "--store", "http://nowhere");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("--store", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Cluster_status_of_an_empty_live_store_reports_it_up_with_no_nodes()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        CommandResult text = JvpnWithPassword(redis.Password, "cluster", "status", "--store", redis.Url("cli"));
        Assert.True(text.ExitCode == 0, text.StandardError);
        Assert.Contains("(up,", text.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("nodes: 0", text.StandardOutput, StringComparison.Ordinal);
        CommandResult json = JvpnWithPassword(redis.Password, "cluster", "status", "--store", redis.Url("cli"), "--json");
        Assert.Contains("\"store_up\": true", json.StandardOutput, StringComparison.Ordinal);
    }

    private static OwnershipRecord Owned(SessionId id, string node) => new()
    {
        Id = id,
        PeerKey = Convert.ToBase64String(new byte[32] { 9, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 }),
        OwnerNode = node,
        State = JumpingVpn.Control.Sessions.SessionState.Attached,
        StateVersion = 1,
        BoundAtVersion = 1,
        Binding = "192.0.2.7:4000",
        InnerAddresses = "10.77.0.2/32",
        PolicyVersion = "1.0",
        CreatedUnixMs = 1_700_000_000_000,
        LastReason = JumpingVpn.Control.Sessions.ReasonCode.HandshakeOk,
    };

    /// <summary>Plays live nodes: beats each every 100 ms (NodeTtl is 1 s) until disposed.</summary>
    /// <summary>Heartbeats for nodes that exist only in the store, every 50 ms like a real node (docs/cluster.md
    /// "Node liveness"). A dedicated thread, not the thread pool: `jvpn cluster drain` judges liveness from two
    /// readings NodeTtl apart, and a pool starved by parallel tests would let a beat slip past NodeTtl.</summary>
    private sealed class Beating : IDisposable
    {
        private readonly ManualResetEventSlim _stop = new();
        private readonly Thread _thread;

        public Beating(ISessionStore store, params string[] nodes)
        {
            (string Id, ulong Epoch)[] registered = [.. nodes.Select(n => (n, store.RegisterNode(n)))];
            foreach ((string id, ulong epoch) in registered)
            {
                Assert.True(store.Heartbeat(new ClusterNodeInfo(id, epoch, 1, "192.0.2.1:51820", false, 0)));
            }
            _thread = new Thread(() =>
            {
                for (ulong beat = 2; !_stop.Wait(50); beat++)
                {
                    foreach ((string id, ulong epoch) in registered)
                    {
                        store.Heartbeat(new ClusterNodeInfo(id, epoch, beat, "192.0.2.1:51820", false, 0));
                    }
                }
            })
            { IsBackground = true, Name = "test-beating" };
            _thread.Start();
        }

        public void Dispose()
        {
            _stop.Set();
            _thread.Join(TimeSpan.FromSeconds(5));
            _stop.Dispose();
        }
    }

    [Fact]
    public void Cluster_drain_of_an_unknown_node_fails_with_the_live_nodes_listed()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        using ISessionStore store = redis.StoreUrl("drain1", timeout: "5s").Open();
        using var beating = new Beating(store, "node-a", "node-b");

        CommandResult r = JvpnWithPassword(redis.Password, "cluster", "drain", "node-z", "--store", redis.Url("drain1"));

        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.StandardError.Trim().Split('\n'));
        Assert.Contains("'node-z' is not a live node", line, StringComparison.Ordinal);
        Assert.Contains("live nodes: node-a, node-b", line, StringComparison.Ordinal);
        Assert.False(store.TakeDrainRequest("node-z"));
    }

    [Fact]
    public void Cluster_drain_of_a_node_whose_heartbeat_stopped_is_refused_in_one_line_and_writes_no_request()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        using ISessionStore store = redis.StoreUrl("drain3", timeout: "5s").Open();
        using var beating = new Beating(store, "node-b");
        Assert.True(store.Heartbeat(new ClusterNodeInfo("node-a", store.RegisterNode("node-a"), 7, "192.0.2.1:51820", false, 0))); // then silent

        CommandResult r = JvpnWithPassword(redis.Password, "cluster", "drain", "node-a", "--store", redis.Url("drain3"));

        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.StandardError.Trim().Split('\n'));
        Assert.Contains("'node-a' is not alive", line, StringComparison.Ordinal);
        Assert.Contains("live nodes: node-b", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
        Assert.False(store.TakeDrainRequest("node-a"));
    }

    [Fact]
    public async Task Cluster_drain_wait_writes_the_request_and_reports_each_session_once_another_node_owns_it()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        using ISessionStore store = redis.StoreUrl("drain2", timeout: "5s").Open();
        using var beating = new Beating(store, "node-a", "node-b");
        Assert.True(SessionId.TryParse("0123456789abcdef0123456789abcdef", out SessionId id));
        OwnershipRecord created = store.Create(Owned(id, "node-a") with { OwnerNodeEpoch = store.ListNodes()!.Single(n => n.NodeId == "node-a").NodeEpoch }).Current!;

        Task<CommandResult> drain = Task.Run(() => JvpnWithPassword(redis.Password, "cluster", "drain", "node-a", "--store", redis.Url("drain2"), "--wait", "--timeout", "20"), TestContext.Current.CancellationToken);
        // Play node-a (takes the request, releases) and node-b (the client arrived: acquires).
        bool taken = false;
        for (int i = 0; i < 300 && !taken && !drain.IsCompleted; i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
            taken = store.TakeDrainRequest("node-a");
        }
        if (!taken && drain.IsCompleted)
        {
            CommandResult early = await drain;
            Assert.Fail($"the drain command ended before writing its request: exit {early.ExitCode}, {early.StandardError.Trim()}");
        }
        Assert.True(taken, "the drain request never appeared in the store");
        Assert.Equal(StoreStatus.Ok, store.Release(id, "node-a", created.OwnerNodeEpoch, created.OwnerEpoch).Status);
        OwnershipRecord released = store.Read(id).Current!;
        ulong nodeB = store.ListNodes()!.Single(n => n.NodeId == "node-b").NodeEpoch;
        Assert.Equal(StoreStatus.Ok, store.Acquire(id, "node-b", nodeB, AcquireExpectation.Of(released, default)).Status);

        CommandResult r = await drain;
        Assert.True(r.ExitCode == 0, r.StandardError);
        Assert.Contains("moves its 1 sessions", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"{id} node-a -> node-b epoch 1 -> 2", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("all 1 sessions moved off node-a", r.StandardOutput, StringComparison.Ordinal);
    }
}
