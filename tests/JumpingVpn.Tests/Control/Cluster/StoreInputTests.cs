using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Metrics;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using static JumpingVpn.Tests.Control.Cluster.ClusterHarness;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// Whatever the store holds is untrusted input (docs/cluster.md): malformed session records, replies and
/// registry entries are counted and dropped, never thrown, never acted on.
/// </summary>
public sealed class StoreInputTests
{
    private static readonly string Key = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static SessionId NewId() => SessionId.Read(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    private static OwnershipRecord Good(SessionId id) => new()
    {
        Id = id,
        PeerKey = Key,
        OwnerNode = "node-a",
        OwnerNodeEpoch = 1,
        OwnerEpoch = 1,
        State = SessionState.Attached,
        StateVersion = 3,
        BoundAtVersion = 2,
        Binding = "192.0.2.7:4000",
        InnerAddresses = "10.77.0.2/32,fd00::2/128",
        PolicyVersion = "1",
        CreatedUnixMs = 1_700_000_000_000,
        LastReason = ReasonCode.HandshakeOk,
    };

    public static TheoryData<string, Func<OwnershipRecord, OwnershipRecord>> Malformed => new()
    {
        { "inner with a command", r => r with { InnerAddresses = "10.77.0.2/32; rm -rf /" } },
        { "inner with a substitution", r => r with { InnerAddresses = "$(touch /tmp/jv-owned)" } },
        { "inner with a newline", r => r with { InnerAddresses = "10.77.0.2/32\n10.77.0.3/32" } },
        { "inner overlong", r => r with { InnerAddresses = string.Join(',', Enumerable.Repeat("10.77.0.2/32", 500)) } },
        { "inner out of range", r => r with { InnerAddresses = "10.77.0.300/32" } },
        { "inner prefix too long", r => r with { InnerAddresses = "10.77.0.2/33" } },
        { "too many inner prefixes", r => r with { InnerAddresses = string.Join(',', Enumerable.Range(1, 17).Select(i => $"10.77.0.{i}/32")) } },
        { "binding not an endpoint", r => r with { Binding = "`reboot`" } },
        { "binding port out of range", r => r with { Binding = "192.0.2.7:99999" } },
        { "binding without port", r => r with { Binding = "192.0.2.7" } },
        { "peer key", r => r with { PeerKey = "a2V5" } },
        { "owner with blanks", r => r with { OwnerNode = "node a;id" } },
        { "owner overlong", r => r with { OwnerNode = new string('n', 4096) } },
        { "state", r => r with { State = (SessionState)99 } },
        { "reason", r => r with { LastReason = (ReasonCode)60000 } },
        { "created negative", r => r with { CreatedUnixMs = -5 } },
        { "switches negative", r => r with { TotalSwitches = -1 } },
        { "policy with a newline", r => r with { PolicyVersion = "1\nINJECTED audit line" } },
    };

    [Fact]
    public void The_good_record_passes()
    {
        Assert.Null(StoreRecordCheck.Problem(Good(NewId())));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_record_in_the_in_memory_store_is_counted_and_dropped_by_the_node(string what, Func<OwnershipRecord, OwnershipRecord> spoil)
    {
        var store = new InMemorySessionStore();
        using var cluster = new ClusterCoordinator(store, "node-b", 3000, NullLogger.Instance) { Dispatch = static w => w() };
        cluster.Tick(); // registered and valid: the acquire below reaches the store
        SessionId id = NewId();
        Assert.True(store.Create(spoil(Good(id))).IsOk, what);
        StoreResult read = cluster.Read(id);
        Assert.Equal(StoreStatus.Malformed, read.Status);
        Assert.Null(read.Current);
        Assert.Equal(1, cluster.RejectedRecords);
        Assert.True(read.Problem!.Length < 200, read.Problem);
        Assert.DoesNotContain('\n', read.Problem);
        StoreResult acquire = cluster.Acquire(id, AcquireExpectation.Of(Good(id), default), (_, _) => throw new InvalidOperationException("not reached"), out OwnedSession? owned);
        Assert.Equal(StoreStatus.Malformed, acquire.Status);
        Assert.Null(owned);
        Assert.Equal(2, cluster.RejectedRecords);
    }

    [Fact]
    public void Rejections_are_logged_at_most_once_per_interval_and_counted_in_the_metrics()
    {
        var clock = new ManualTimeProvider();
        var log = new CountingLogger();
        var store = new InMemorySessionStore(clock);
        using var cluster = new ClusterCoordinator(store, "node-b", 3000, log, clock);
        SessionId id = NewId();
        store.Create(Good(id) with { Binding = "nonsense" });
        for (int i = 0; i < 50; i++)
        {
            cluster.Read(id);
        }
        Assert.Equal(1, log.Warnings);
        clock.Advance(TimeSpan.FromMilliseconds(ClusterCoordinator.RejectLogIntervalMs));
        cluster.Read(id);
        Assert.Equal(2, log.Warnings);
        var metrics = new JvpnMetrics();
        ClusterSetup.BindMetrics(metrics, cluster);
        Assert.Contains("jvpn_store_rejected_records_total 51", PrometheusTextFormatter.Format(metrics.Registry), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failover_to_a_tampered_record_is_refused_on_the_receive_thread_without_an_exception()
    {
        var h = new ClusterHarness(2);
        h.Connect();
        SessionId sid = Sid(Field(h["n1"].Jumping.FormatSessions(), "session_id"));
        OwnershipRecord cur = h.Store.Read(sid).Current!;
        // Someone with write access to the store spoils the binding (the field a new owner parses first).
        Assert.True(h.Store.CompareAndSwap(cur.StateVersion, cur with { Binding = "not-an-endpoint" }, 1000).IsOk);
        h["n1"].Down = true;
        h.Run(TimeSpan.FromSeconds(12));
        // n2 refuses to continue the tampered session (the client may start a new one with it instead).
        Assert.NotEqual(sid.ToString(), Field(h["n2"].Jumping.FormatSessions(), "session_id"));
        Assert.True(h["n2"].Cluster.RejectedRecords > 0);
        Assert.Equal("n1", h.Store.Read(sid).Current!.OwnerNode);
    }

    private static SessionId Sid(string hex)
    {
        Assert.True(SessionId.TryParse(hex, out SessionId id), hex);
        return id;
    }

    public static TheoryData<string, string, string> BadFields => new()
    {
        { "ver", "12abc", "not an unsigned integer" },
        { "ver", "-1", "not an unsigned integer" },
        { "hw", "99999999999999999999999", "not an unsigned integer" },
        { "created", "1e9", "not an integer" },
        { "state", "300", "out of range" },
        { "epoch", "", "not an integer" },
        { "inner", "10.0.0.2/32 $(id)", "inner addresses" },
        { "bind", "[::1]:0", "binding" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void The_redis_decoder_refuses_a_bad_field_without_throwing(string field, string value, string expected)
    {
        SessionId id = NewId();
        var fields = new Dictionary<string, string>
        {
            ["peer"] = Key, ["owner"] = "node-a", ["nepoch"] = "1", ["epoch"] = "1", ["rel"] = "0", ["state"] = "3", ["ver"] = "3", ["bav"] = "2",
            ["bind"] = "192.0.2.7:4000", ["inner"] = "10.77.0.2/32", ["pol"] = "1", ["created"] = "1700000000000", ["unbound"] = "-1",
            ["sw"] = "0", ["hw"] = "5", ["reason"] = "0",
        };
        StoreResult good = RedisSessionStore.Decode(Reply("OK", "1700000000001", fields), id);
        Assert.Equal(StoreStatus.Ok, good.Status);
        fields[field] = value;
        StoreResult bad = RedisSessionStore.Decode(Reply("OK", "1700000000001", fields), id);
        Assert.Equal(StoreStatus.Malformed, bad.Status);
        Assert.Contains(expected, bad.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_redis_decoder_refuses_bad_replies_without_throwing()
    {
        SessionId id = NewId();
        Assert.Equal(StoreStatus.Malformed, RedisSessionStore.Decode(Reply("WHATEVER", "1", []), id).Status);
        Assert.Equal(StoreStatus.Malformed, RedisSessionStore.Decode(Reply("OK", "soon", []), id).Status);
        Assert.Equal(StoreStatus.Malformed, RedisSessionStore.Decode([RedisResult.Create((RedisValue)"OK")], id).Status);
        RedisResult[] odd = [.. Reply("OK", "1", []), RedisResult.Create((RedisValue)"peer")];
        Assert.Equal(StoreStatus.Malformed, RedisSessionStore.Decode(odd, id).Status);
    }

    private static RedisResult[] Reply(string status, string now, Dictionary<string, string> fields)
    {
        var r = new List<RedisResult> { RedisResult.Create((RedisValue)status), RedisResult.Create((RedisValue)now), RedisResult.Create((RedisValue)"") };
        foreach ((string k, string v) in fields)
        {
            r.Add(RedisResult.Create((RedisValue)k));
            r.Add(RedisResult.Create((RedisValue)v));
        }
        return [.. r];
    }

    [Fact]
    public void A_hash_written_straight_into_redis_with_shell_metacharacters_is_read_as_malformed()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        StoreUrl url = redis.StoreUrl("evil", timeout: "5s");
        using ISessionStore store = url.Open();
        using var cluster = new ClusterCoordinator(store, "node-b", 3000, NullLogger.Instance);
        SessionId id = NewId();
        Assert.True(store.Create(Good(id)).IsOk);
        using (ConnectionMultiplexer raw = ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { { redis.Bind, redis.Port } }, Password = redis.Password }))
        {
            raw.GetDatabase().HashSet("evil:s:" + id.ToString(), "inner", "10.77.0.2/32; touch /tmp/jv-owned");
        }
        StoreResult read = cluster.Read(id);
        Assert.Equal(StoreStatus.Malformed, read.Status);
        Assert.Equal(1, cluster.RejectedRecords);
        Assert.DoesNotContain(store.ListSessions(), r => r.Id == id && StoreRecordCheck.Problem(r) is null);
    }

    [Fact]
    public void A_registry_peer_cannot_take_an_address_a_configured_peer_routes_and_malformed_entries_are_dropped()
    {
        var store = new InMemorySessionStore();
        using var cluster = new ClusterCoordinator(store, "node-a", 3000, NullLogger.Instance);
        var device = new WireGuardDevice(new DeviceOptions { Time = new ManualTimeProvider(), Random = new DeterministicRandom(3).Fill }, new WireSender());
        device.SetPrivateKey(Enumerable.Repeat((byte)7, 32).ToArray());
        Peer configured = device.AddPeer(Enumerable.Repeat((byte)9, 32).ToArray(), new byte[32]);
        device.AddAllowedIp(configured, IpPrefix.Parse("10.77.0.2/32"));
        IpPrefix[] owned = [IpPrefix.Parse("10.77.0.2/32")];
        var inner = new Dictionary<Peer, IReadOnlyList<IpPrefix>>();
        string Other(byte b) => Convert.ToBase64String(Enumerable.Repeat(b, 32).ToArray());

        Assert.False(ClusterSetup.AddRegistered(new RegisteredPeer(Other(1), "10.77.0.2/32"), owned, device, inner, cluster));
        Assert.False(ClusterSetup.AddRegistered(new RegisteredPeer(Other(2), "10.77.0.0/24"), owned, device, inner, cluster));
        Assert.False(ClusterSetup.AddRegistered(new RegisteredPeer(Other(3), "0.0.0.0/0"), owned, device, inner, cluster));
        Assert.False(ClusterSetup.AddRegistered(new RegisteredPeer(Other(4), "10.77.0.9/32;reboot"), owned, device, inner, cluster));
        Assert.False(ClusterSetup.AddRegistered(new RegisteredPeer("not a key", "10.77.0.9/32"), owned, device, inner, cluster));
        Assert.Equal(5, cluster.RejectedRecords);
        Assert.Empty(inner);
        Assert.Single(device.Peers);

        Assert.True(ClusterSetup.AddRegistered(new RegisteredPeer(Other(5), "10.77.0.3/32,fd00::3/128"), owned, device, inner, cluster));
        Assert.Equal(2, device.Peers.Count);
        Assert.Equal(["10.77.0.3/32", "fd00::3/128"], inner.Values.Single().Select(p => p.ToString()));
        Assert.Equal(5, cluster.RejectedRecords);
    }

    private sealed class CountingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public int Warnings { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == Microsoft.Extensions.Logging.LogLevel.Warning)
            {
                Warnings++;
            }
        }
    }
}
