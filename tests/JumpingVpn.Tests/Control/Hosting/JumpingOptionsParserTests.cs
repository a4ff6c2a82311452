using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Provisioning;

namespace JumpingVpn.Tests.Control.Hosting;

/// <summary>
/// The [Jumping] section typed once at load (docs/configuration.md §1, §2): every bad value names file, line
/// and key, and everything the raw parser accepted maps to the typed value the interface used before.
/// </summary>
public sealed class JumpingOptionsParserTests
{
    private const string Interface = "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n";
    private const string ServerPeer = "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 0.0.0.0/0\n";

    /// <summary>The line of the first [Jumping] key in <see cref="Text"/>: [Interface] takes lines 1-2, [Peer] 3-6, a blank line, [Jumping] at 8.</summary>
    private const int KeyLine = 9;

    private static string Text(string jumping) => Interface + ServerPeer + "\n[Jumping]\n" + jumping + "\n";

    private static TunnelConfig Load(string jumping) => TunnelConfigParser.Parse(Text(jumping), "jv0.conf", "jv0");

    private static JumpingOptions Options(string jumping, string? store = null) =>
        JumpingOptionsParser.Parse(Load(jumping), store, _ => null);

    public static TheoryData<string, string, string, string> BadValues() => new()
    {
        // key as written, value, key the error names (policy keys lower-cased, as the policy parser always named them), what the message must say
        { "SessionLayer", "sometimes", "SessionLayer", "auto, client, server, off" },
        { "Paths", "maybe", "Paths", "auto, on, off" },
        { "Endpoints", "b.example:1, nope", "Endpoints", "host:port" },
        { "AuditMaxBytes", "lots", "AuditMaxBytes", "whole number from 1" },
        { "AuditMaxBytes", "0", "AuditMaxBytes", "whole number from 1" },
        { "AuditFiles", "-3", "AuditFiles", "whole number from 1" },
        { "AuditFiles", "99999999999", "AuditFiles", "whole number from 1" },
        { "Store", "http://10.0.0.5", "Store", "not a store" },
        { "Lease", "10s", "Lease", "per-session leases no longer exist" },
        { "NodeTtl", "10", "NodeTtl", "needs a unit" },
        { "NodeTtl", "250ms", "NodeTtl", "at least 300ms" },
        { "AdvertiseEndpoint", "node-1.example:51820", "AdvertiseEndpoint", "not IP:PORT" },
        { "OwnerUp", "ip route add 'unterminated", "OwnerUp", "quote" },
        { "max_lifetime", "8", "max_lifetime", "needs a unit" },
        { "LossThreshold", "much", "lossthreshold", "ratio" },
        { "AllowPlannedMigration", "perhaps", "allowplannedmigration", "true or false" },
        { "max_sessions", "-1", "max_sessions", "non-negative whole number" },
        { "Profile", "turbo", "profile", "default or battery" },
        { "Colour", "blue", "colour", "known keys" },
        { "KillSwitch", "always", "KillSwitch", "on, off" },
        { "KillSwitchAllowLan", "yes", "KillSwitchAllowLan", "on, off" },
        { "ReceiveThreads", "0", "ReceiveThreads", "whole number from 1 to 16" },
        { "ReceiveThreads", "17", "ReceiveThreads", "whole number from 1 to 16" },
        { "ReceiveThreads", "many", "ReceiveThreads", "whole number from 1 to 16" },
    };

    [Fact]
    public void ReceiveThreads_is_read_and_absent_means_the_role_default()
    {
        Assert.Equal(3, Options("ReceiveThreads = 3").ReceiveThreads);
        JumpingOptions client = Options("SessionLayer = auto");
        Assert.Null(client.ReceiveThreads);
        // A peer with an Endpoint: a client, whose one peer's packets one thread opens in order.
        Assert.Equal(1, client.DefaultReceiveThreads(processors: 8));
        // No peer with an Endpoint: a server, one thread per core up to 4.
        TunnelConfig server = TunnelConfigParser.Parse(
            Interface + "ListenPort = 51820\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 10.0.0.2/32\n", "s.conf", "s");
        JumpingOptions options = JumpingOptionsParser.Parse(server, null, _ => null);
        Assert.Equal(2, options.DefaultReceiveThreads(processors: 2));
        Assert.Equal(4, options.DefaultReceiveThreads(processors: 16));
        Assert.Equal(1, options.DefaultReceiveThreads(processors: 1));
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_names_file_line_and_key(string key, string value, string errorKey, string expected)
    {
        // Store-dependent keys are checked in cluster mode only, as before: give them a store.
        string extra = key is "Lease" or "NodeTtl" or "AdvertiseEndpoint" or "OwnerUp" ? "\nStore = memory" : string.Empty;

        ConfigException e = Assert.Throws<ConfigException>(() => Options($"{key} = {value}{extra}"));

        Assert.Equal(("jv0.conf", KeyLine, errorKey), (e.File, e.Line, e.Key));
        Assert.Contains(expected, e.Problem, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith($"jv0.conf:{KeyLine}: {errorKey}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cross_key_policy_error_points_at_the_line_of_the_key_it_names()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Options("MaxLifetime = 2m\nTransportLostTtl = 3m"));

        Assert.Equal(("transport_lost_ttl", KeyLine + 1), (e.Key, e.Line));
    }

    [Fact]
    public void Cluster_checks_that_need_the_policy_name_their_line()
    {
        ConfigException ttl = Assert.Throws<ConfigException>(() => Options("Store = memory\nNodeTtl = 5m"));
        ConfigException node = Assert.Throws<ConfigException>(() => Options("Store = memory\nNodeId = has space"));

        Assert.Equal(("NodeTtl", KeyLine + 1), (ttl.Key, ttl.Line));
        Assert.Contains("shorter than transport_lost_ttl", ttl.Problem, StringComparison.Ordinal);
        Assert.Equal(("NodeId", KeyLine + 1), (node.Key, node.Line));
    }

    [Fact]
    public void The_command_line_store_is_reported_as_the_option_not_a_line()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => Options("SessionLayer = server", store: "redis://"));

        Assert.Equal((null, null, "--store"), (e.File, e.Line, e.Key));
    }

    [Fact]
    public void An_empty_section_gives_the_defaults_the_interface_used()
    {
        JumpingOptions o = Options(string.Empty);

        Assert.Equal(SessionLayerMode.Auto, o.SessionLayer);
        Assert.Equal(PathsMode.Auto, o.Paths);
        Assert.Empty(o.Interfaces);
        Assert.Null(o.Endpoints);
        Assert.Equal($"{Environment.MachineName}/jv0", o.NodeId);
        Assert.Null(o.Cluster);
        Assert.Null(o.AuditLog);
        Assert.Null(o.Metrics);
        Assert.False(o.KillSwitch);
        Assert.Equal(SessionPolicy.Default, o.Policy);
    }

    [Fact]
    public void Every_accepted_spelling_maps_to_its_typed_value()
    {
        JumpingOptions o = Options("""
            sessionlayer =  CLIENT
            PATHS = Off
            Interfaces = wlan0, wwan0 eth1
            Interfaces = usb0
            Endpoints = b.example:51820, [2001:db8::2]:7
            NodeId = edge-3
            AuditFile = /var/log/jvpn/%i.jsonl
            AuditMaxBytes = +4096
            AuditFiles = 2
            MetricsListen = 127.0.0.1:9586
            Profile = metered
            loss-threshold = 20%
            max_switches_per_min = 4
            """);

        Assert.Equal(SessionLayerMode.Client, o.SessionLayer);
        Assert.Equal(PathsMode.Off, o.Paths);
        Assert.Equal(["wlan0", "wwan0", "eth1", "usb0"], o.Interfaces);
        Assert.Equal(["b.example:51820", "[2001:db8::2]:7"], o.Endpoints!.Select(e => e.ToString()));
        Assert.Equal("edge-3", o.NodeId);
        Assert.Equal(new AuditLogOptions("/var/log/jvpn/%i.jsonl", 4096, 2), o.AuditLog);
        Assert.Equal("127.0.0.1:9586", o.Metrics);
        Assert.Equal(SessionPolicy.BatteryIdleKeepaliveMs, o.Policy.IdleKeepaliveIntervalMs);
        Assert.Equal(0.2, o.Policy.LossThreshold, 9);
        Assert.Equal(4, o.Policy.MaxSwitchesPerMinute);
    }

    [Fact]
    public void The_policy_is_the_one_the_policy_parser_builds_from_the_same_section()
    {
        TunnelConfig c = Load("max-lifetime = 8h\nrecovery_window = 5s\nSessionLayer = server\nMetrics = 127.0.0.1:0");

        Assert.Equal(SessionPolicyParser.Parse(c.Jumping, c.SourcePath), JumpingOptionsParser.Parse(c, null, _ => null).Policy);
    }

    [Fact]
    public void A_cluster_config_keeps_store_node_ttl_endpoint_and_hooks()
    {
        JumpingOptions o = Options("Store = memory\nNodeTtl = 2s\nAdvertiseEndpoint = 192.0.2.10:51820\nOwnerUp = ip route add {inner} dev %i\nNodeId = node-1");

        ClusterOptions cluster = Assert.IsType<ClusterOptions>(o.Cluster);
        Assert.True(cluster.Store.IsMemory);
        Assert.Equal(2000, cluster.Store.NodeTtlMs);
        Assert.Equal("192.0.2.10:51820", cluster.AdvertiseEndpoint);
        Assert.Equal("", Assert.IsType<ClusterOptions>(Options("Store = memory").Cluster).AdvertiseEndpoint);
        Assert.Equal("ip route add {inner} dev %i", cluster.OwnerUp);
        Assert.Null(cluster.OwnerDown);
    }

    [Fact]
    public void A_server_config_written_by_server_init_loads_with_its_public_endpoint()
    {
        ServerInitResult r = ServerInit.Create(new ServerInitOptions
        {
            Addresses = ServerInit.ParseAddresses("10.78.0.1/24"),
            ListenPort = 51821,
            Endpoint = ServerInit.ParseEndpoint("vpn.example.com", 51821),
        });
        TunnelConfig c = TunnelConfigParser.Parse(r.ConfigText, "jvpn0.conf", "jvpn0");

        JumpingOptions o = JumpingOptionsParser.Parse(c, null, _ => null);

        Assert.Equal(SessionLayerMode.Auto, o.SessionLayer);
        Assert.Null(o.Cluster);
    }

    [Theory]
    [InlineData("on", true)]
    [InlineData(" ON ", true)]
    [InlineData("off", false)]
    public void KillSwitch_is_on_or_off_for_a_full_tunnel(string value, bool expected)
    {
        Assert.Equal(expected, Options($"KillSwitch = {value}").KillSwitch);
    }

    [Fact]
    public void KillSwitch_on_a_split_tunnel_is_refused_naming_file_line_and_the_fix()
    {
        string text = (Interface + ServerPeer).Replace("AllowedIPs = 0.0.0.0/0", "AllowedIPs = 10.64.0.0/10, fd00::/8", StringComparison.Ordinal)
            + "\n[Jumping]\nKillSwitch = on\n";
        TunnelConfig config = TunnelConfigParser.Parse(text, "jv0.conf", "jv0");

        ConfigException e = Assert.Throws<ConfigException>(() => JumpingOptionsParser.Parse(config, null, _ => null));

        Assert.Equal(("jv0.conf", KeyLine, "KillSwitch"), (e.File, e.Line, e.Key));
        Assert.Contains("needs a full tunnel", e.Problem, StringComparison.Ordinal);
        Assert.Contains("set KillSwitch = off", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("on", true)]
    [InlineData("Off", false)]
    public void KillSwitchAllowLan_is_on_or_off_for_a_full_tunnel(string value, bool expected)
    {
        JumpingOptions o = Options($"KillSwitch = on\nKillSwitchAllowLan = {value}");

        Assert.Equal(expected, o.KillSwitchAllowLan);
        Assert.False(Options("KillSwitch = on").KillSwitchAllowLan);
    }

    [Fact]
    public void KillSwitchAllowLan_on_a_split_tunnel_is_refused_naming_file_line_and_the_fix()
    {
        string text = (Interface + ServerPeer).Replace("AllowedIPs = 0.0.0.0/0", "AllowedIPs = 10.64.0.0/10", StringComparison.Ordinal)
            + "\n[Jumping]\nKillSwitchAllowLan = on\n";

        ConfigException e = Assert.Throws<ConfigException>(() => JumpingOptionsParser.Parse(TunnelConfigParser.Parse(text, "jv0.conf", "jv0"), null, _ => null));

        Assert.Equal(("jv0.conf", KeyLine, "KillSwitchAllowLan"), (e.File, e.Line, e.Key));
        Assert.Contains("needs a full tunnel", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ipv6_only_default_route_is_a_full_tunnel_too()
    {
        string text = (Interface + ServerPeer).Replace("AllowedIPs = 0.0.0.0/0", "AllowedIPs = ::/0", StringComparison.Ordinal)
            + "\n[Jumping]\nKillSwitch = on\n";

        Assert.True(JumpingOptionsParser.Parse(TunnelConfigParser.Parse(text, "jv0.conf", "jv0"), null, _ => null).KillSwitch);
    }
}
