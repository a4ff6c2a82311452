using System.Globalization;
using System.Text.Json;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// docs/design.md §8: a client with two links (Wi-Fi and cellular) into one router, the router in front of the
/// server, masquerading both links (so the server only ever sees the router's public address, with one
/// port per path).
/// <code>
///   [jvc… client] wifi0 192.168.X.2 ── wifi 192.168.X.1 ┐
///                 cell0 10.202.X.2  ── cell 10.202.X.1  ├ [jvr… router] vpub 10.201.X.1 ── 10.201.X.2 [jvs… server]
/// </code>
/// Both links carry a default route in the client (Wi-Fi metric 100, cellular 200), as NetworkManager
/// sets them up. Every link is dual-stack: fd6a:X:1::/64 (Wi-Fi), fd6a:X:2::/64 (cellular) and
/// fd6a:X:201::/64 (router to server) beside the IPv4 subnets, so a client can reach the server over
/// either family. The router's forward chain applies per-link loss and blackholes in both directions.
/// </summary>
internal sealed class TwoLinkTopology : RouterTopology
{
    public const string Wifi = "wifi0";
    public const string Cell = "cell0";
    private readonly Dictionary<string, (int Loss, bool Blackhole)> _filters = new(StringComparer.Ordinal)
    {
        [Wifi] = (0, false),
        [Cell] = (0, false),
    };

    private TwoLinkTopology(NetNs client, NetNs router, NetNs server, int subnet)
        : base(client, router, server, subnet)
    {
    }

    public string ClientAddress(string link) => link == Wifi ? Address("192.168", 2) : Address("10.202", 2);

    /// <summary>The router's address on the client's <paramref name="link"/> (the client's gateway there).</summary>
    public string RouterAddress(string link) => link == Wifi ? Address("192.168", 1) : Address("10.202", 1);

    public string ClientAddressV6(string link) => AddressV6(link == Wifi ? 1 : 2, 2);

    private string RouterAddressV6(string link) => AddressV6(link == Wifi ? 1 : 2, 1);

    private static string RouterDevice(string link) => link == Wifi ? "wifi" : "cell";

    private static int Metric(string link) => link == Wifi ? 100 : 200;

    public static TwoLinkTopology Create() => Create(
        (client, router, server, subnet) => new TwoLinkTopology(client, router, server, subnet),
        t =>
        {
            foreach (string link in new[] { Wifi, Cell })
            {
                NetNs.ConnectVeth(t.Router, RouterDevice(link), [t.RouterAddress(link) + "/24", t.RouterAddressV6(link) + "/64"],
                    t.Client, link, [t.ClientAddress(link) + "/24", t.ClientAddressV6(link) + "/64"]);
                t.AddDefaultRoutes(link);
            }
        });

    /// <summary>The client's jvpn config: full tunnel (AllowedIPs 0.0.0.0/0, so the path sockets must not
    /// loop), Wi-Fi preferred over cellular, plus any extra [Jumping] keys. With <paramref name="ipv6Underlay"/>
    /// the client's Endpoint is the server's IPv6 address, so every path runs over IPv6. <paramref name="dns"/> becomes
    /// the client's `DNS =` line.</summary>
    public TwoLinkTunnel StartTunnel(IReadOnlyDictionary<string, string>? jumping = null, IReadOnlyDictionary<string, string>? serverJumping = null,
        bool ipv6Underlay = false, IReadOnlyList<string>? dns = null)
    {
        KeyPair serverKeys = KeyPair.Generate();
        KeyPair clientKeys = KeyPair.Generate();
        var serverConfig = new TunnelConfig(
            serverKeys.PrivateKey,
            [TwoHostTopology.ServerTunnelV4 + "/24"],
            [new TunnelPeerConfig(clientKeys.PublicKey, [TwoHostTopology.ClientTunnelV4 + "/32"])],
            ListenPort: TwoHostTopology.ServerListenPort,
            Mtu: TwoHostTopology.Mtu,
            Jumping: serverJumping);
        var clientJumping = new Dictionary<string, string>(StringComparer.Ordinal) { ["Interfaces"] = $"{Wifi}, {Cell}" };
        foreach ((string k, string v) in jumping ?? new Dictionary<string, string>())
        {
            clientJumping[k] = v;
        }
        var clientConfig = new TunnelConfig(
            clientKeys.PrivateKey,
            [TwoHostTopology.ClientTunnelV4 + "/24"],
            [new TunnelPeerConfig(serverKeys.PublicKey, ["0.0.0.0/0"],
                Endpoint: ipv6Underlay
                    ? string.Create(CultureInfo.InvariantCulture, $"[{ServerUnderlayV6}]:{TwoHostTopology.ServerListenPort}")
                    : string.Create(CultureInfo.InvariantCulture, $"{ServerUnderlayV4}:{TwoHostTopology.ServerListenPort}"))],
            Mtu: TwoHostTopology.Mtu,
            Jumping: clientJumping,
            Dns: dns);
        JvpnPeer server = JvpnPeer.Start(Server, serverConfig);
        try
        {
            JvpnPeer client = JvpnPeer.Start(Client, clientConfig);
            return new TwoLinkTunnel(this, server, client);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Hard down: the link goes down and loses its addresses, both families (and with them the default routes).</summary>
    public void LinkDown(string link)
    {
        Client.Ip("addr", "flush", "dev", link);
        Client.Ip("link", "set", link, "down");
    }

    /// <summary>The link comes back: up, address, default route (what DHCP would do).</summary>
    public void LinkUp(string link)
    {
        Client.Ip("link", "set", link, "up");
        Client.AddAddress(link, ClientAddress(link) + "/24");
        Client.AddAddress(link, ClientAddressV6(link) + "/64");
        AddDefaultRoutes(link);
    }

    private void AddDefaultRoutes(string link)
    {
        string metric = Metric(link).ToString(CultureInfo.InvariantCulture);
        Client.Ip("route", "add", "default", "via", RouterAddress(link), "dev", link, "metric", metric);
        Client.Ip("-6", "route", "add", "default", "via", RouterAddressV6(link), "dev", link, "metric", metric);
    }

    /// <summary>The link stays up but the router drops everything to and from it.</summary>
    public void Blackhole(string link, bool on)
    {
        _filters[link] = _filters[link] with { Blackhole = on };
        ApplyFilters();
    }

    /// <summary>The router drops <paramref name="percent"/>% of the link's packets in each direction.</summary>
    public void SetLoss(string link, int percent)
    {
        _filters[link] = _filters[link] with { Loss = percent };
        ApplyFilters();
    }

    private void ApplyFilters()
    {
        var script = new System.Text.StringBuilder("flush chain inet jvfilter path\n");
        foreach ((string link, (int loss, bool blackhole)) in _filters)
        {
            string dev = RouterDevice(link);
            foreach (string dir in new[] { "iifname", "oifname" })
            {
                if (blackhole)
                {
                    script.Append(CultureInfo.InvariantCulture, $"add rule inet jvfilter path {dir} \"{dev}\" drop\n");
                }
                else if (loss > 0)
                {
                    script.Append(CultureInfo.InvariantCulture, $"add rule inet jvfilter path {dir} \"{dev}\" numgen random mod 100 < {loss} drop\n");
                }
            }
        }
        Nft(script.ToString());
    }

}

/// <summary>One client path as `jvpn status --json` shows it.</summary>
internal sealed record PathView(string Interface, string Role, string State, double RttMs, double Loss);

/// <summary>One recent switch as `jvpn status --json` shows it.</summary>
internal sealed record SwitchView(string From, string To, string Reason, long GapMs);

/// <summary>A jvpn server and a two-link jvpn client on a <see cref="TwoLinkTopology"/>.</summary>
internal sealed class TwoLinkTunnel(TwoLinkTopology topology, JvpnPeer server, JvpnPeer client) : IDisposable
{
    public TwoLinkTopology Topology { get; } = topology;

    public JvpnPeer Server { get; } = server;

    public JvpnPeer Client { get; } = client;

    public string Describe()
    {
        CommandResult rules = Topology.Router.TryExec("nft", ["list", "ruleset"]);
        CommandResult routes = Topology.Client.TryExec("ip", ["route"]);
        CommandResult status = Client.Run("status", Client.InterfaceName);
        return $"{Server.Describe()}\n{Client.Describe()}\n--- client status ---\n{status.StandardOutput}{status.StandardError}\n--- client routes ---\n{routes.StandardOutput}\n--- router ---\n{rules.StandardOutput}";
    }

    public void WaitForHandshake(TimeSpan timeout)
    {
        if (!Ping.WaitForReply(Topology.Client, TwoHostTopology.ServerTunnelV4, timeout))
        {
            throw new TimeoutException($"no ping reply through the two-link tunnel within {timeout.TotalSeconds:0} s.\n{Describe()}");
        }
    }

    /// <summary>The client's paths and recent switches from `jvpn status --json`.</summary>
    public (List<PathView> Paths, List<SwitchView> Switches) ClientPaths()
    {
        CommandResult r = Client.Run("status", Client.InterfaceName, "--json");
        Assert.True(r.ExitCode == 0, $"{r.CommandLine}: {r.StandardError}");
        using JsonDocument doc = JsonDocument.Parse(r.StandardOutput);
        JsonElement s = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0].GetProperty("session");
        var paths = new List<PathView>();
        var switches = new List<SwitchView>();
        if (s.ValueKind == JsonValueKind.Object && s.TryGetProperty("paths", out JsonElement ps))
        {
            foreach (JsonElement p in ps.EnumerateArray())
            {
                paths.Add(new PathView(p.GetProperty("interface").GetString()!, p.GetProperty("role").GetString()!,
                    p.GetProperty("state").GetString()!, p.GetProperty("rtt_ms").GetDouble(), p.GetProperty("loss").GetDouble()));
            }
            foreach (JsonElement w in s.GetProperty("recent_switches").EnumerateArray())
            {
                switches.Add(new SwitchView(w.GetProperty("from").GetString()!, w.GetProperty("to").GetString()!,
                    w.GetProperty("reason").GetString()!, w.GetProperty("gap_ms").GetInt64()));
            }
        }
        return (paths, switches);
    }

    public string? ActivePath() => ClientPaths().Paths.FirstOrDefault(p => p.Role == "active")?.Interface;

    /// <summary>Polls until <paramref name="link"/> is the client's active path and the other one is measured (alive).</summary>
    public void WaitForActive(string link, TimeSpan timeout, bool otherAlive = true)
    {
        DateTimeOffset deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            List<PathView> paths = ClientPaths().Paths;
            if (paths.Any(p => p.Interface == link && p.Role == "active")
                && (!otherAlive || paths.Count(p => p.State == "alive") >= 2))
            {
                return;
            }
            Thread.Sleep(100);
        }
        Assert.Fail($"{link} did not become the active path within {timeout.TotalSeconds:0} s\n{Describe()}");
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
