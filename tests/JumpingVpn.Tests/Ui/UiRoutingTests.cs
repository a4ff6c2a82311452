using System.Net;
using System.Text.Json;
using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Tests.Browser;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.KillSwitch;
using JumpingVpn.Ui.Manager;
using JumpingVpn.Ui.Server;
using JumpingVpn.Ui.Tunnel;
using JumpingVpn.Ui.Tunnels;

namespace JumpingVpn.Tests.Ui;

/// <summary>
/// Tunnel names are the user's (docs/ui.md "The manager": any 1 to 15 of a-z A-Z 0-9 _ = + . -), so no word of the
/// UI's routes may be taken from them: a route with a literal segment where another route of the same shape has a
/// name parameter would answer instead of that tunnel (a tunnel named `tunnels` reading the list of tunnels).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UiRoutingTests : IDisposable
{
    private readonly UiTestTunnels _tunnels = new();
    private readonly string _root = Directory.CreateTempSubdirectory("jvroute").FullName;

    public void Dispose()
    {
        _tunnels.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private sealed class NoKillSwitch : IKillSwitchControl
    {
        public KillSwitchState Status(string tunnel) => new(tunnel, Running: false, Enabled: false, FullTunnel: null, Refused: null);

        public KillSwitchState Set(string tunnel, bool on, bool? allowLan = null) => Status(tunnel);
    }

    /// <summary>Two patterns clash when some path matches both and one has a literal where the other has a parameter.</summary>
    internal static string? Clash(string a, string b)
    {
        string[] x = a.Trim('/').Split('/');
        string[] y = b.Trim('/').Split('/');
        if (x.Length != y.Length || a.Contains("{**", StringComparison.Ordinal) || b.Contains("{**", StringComparison.Ordinal))
        {
            return null;
        }
        string? shadowed = null;
        for (int i = 0; i < x.Length; i++)
        {
            bool px = x[i].StartsWith('{');
            bool py = y[i].StartsWith('{');
            if (!px && !py && !string.Equals(x[i], y[i], StringComparison.OrdinalIgnoreCase))
            {
                return null; // different literals: no path matches both
            }
            if (px != py)
            {
                shadowed ??= $"{a} and {b}: `{(px ? y[i] : x[i])}` would be taken by the route instead of a name";
            }
        }
        return shadowed;
    }

    [Fact]
    public void The_clash_rule_finds_a_literal_beside_a_parameter()
    {
        Assert.NotNull(Clash("/api/events/tunnels", "/api/events/{name}"));
        Assert.Null(Clash("/api/events", "/api/events/{name}"));
        Assert.Null(Clash("/api/events/{name}/log", "/api/events/{name}/log.txt"));
        Assert.Null(Clash("/api/tunnels/list", "/api/events/{name}"));
    }

    [Fact]
    public async Task No_route_of_the_manager_takes_a_word_a_tunnel_name_could_be()
    {
        await using TunnelManager manager = TunnelManager.Start(new ManagerOptions
        {
            ConfigDirectory = Path.Combine(_root, "etc"),
            StateDirectory = Path.Combine(_root, "state"),
            Child = new ChildCommand("/bin/true", []),
        });
        // The modules `jvpn manager` registers (src/Cli/Commands/ManagerCommand.cs).
        await using UiTestClient ui = await UiTestClient.StartAsync(
            new TunnelsModule(manager),
            new TunnelModule(manager, TimeProvider.System, startSampler: false),
            new EventsModule(manager),
            new ServerModule(manager),
            new KillSwitchModule(new NoKillSwitch()));

        IReadOnlyList<string> patterns = ui.Host.RoutePatterns;
        Assert.Contains("/api/events/{name}", patterns);
        Assert.Contains("/api/killswitch/{tunnel}", patterns);
        var clashes = new List<string>();
        for (int i = 0; i < patterns.Count; i++)
        {
            for (int j = i + 1; j < patterns.Count; j++)
            {
                if (Clash(patterns[i], patterns[j]) is string clash)
                {
                    clashes.Add(clash);
                }
            }
        }
        Assert.True(clashes.Count == 0, string.Join('\n', clashes));
    }

    [Theory]
    [InlineData("tunnels")]
    [InlineData("list")]
    [InlineData("log")]
    public async Task A_tunnel_named_like_a_route_word_gets_its_own_events_and_status(string name)
    {
        string iface = UiTestTunnels.NewInterfaceName();
        _tunnels.Tunnels.Add(new TunnelEntry(name, iface, TunnelState.Active, _tunnels.WriteConfig(name, "10.8.0.2/32"), false));
        _tunnels.Tunnels.Add(new TunnelEntry("other", UiTestTunnels.NewInterfaceName(), TunnelState.Inactive, _tunnels.WriteConfig("other", "10.9.0.2/32"), false));
        _tunnels.Run(iface);
        _tunnels.AuditLines.Add("""{"ts_ms":1764201600000,"event_type":"PATH_DECISION","session_id":"5f3a","node_id":"c","policy_version":"1","state_version":4,"decision":"path_dead","interface":"wlan0","reason_code":"","detail":"no reply for 1000 ms"}""");
        _tunnels.AddLog(name, DateTimeOffset.UnixEpoch, "the tunnel's own log line");
        await using UiTestClient ui = await UiTestClient.StartAsync(
            new EventsModule(_tunnels, _tunnels.SocketDirectory),
            new TunnelModule(_tunnels, TimeProvider.System, _tunnels.SocketDirectory, startSampler: false));
        CancellationToken cancel = TestContext.Current.CancellationToken;

        using JsonDocument list = JsonDocument.Parse(await ui.Http.GetStringAsync(new Uri("api/events", UriKind.Relative), cancel));
        using JsonDocument events = JsonDocument.Parse(await ui.Http.GetStringAsync(new Uri("api/events/" + name, UriKind.Relative), cancel));
        using JsonDocument log = JsonDocument.Parse(await ui.Http.GetStringAsync(new Uri($"api/events/{name}/log", UriKind.Relative), cancel));
        using HttpResponseMessage status = await ui.Http.GetAsync(new Uri($"api/tunnel/{name}/status", UriKind.Relative), cancel);

        string[] names = [.. list.RootElement.EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
        Assert.Equal(new[] { name, "other" }.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.Object, events.RootElement.ValueKind);
        Assert.True(events.RootElement.GetProperty("running").GetBoolean());
        Assert.Equal("wlan0 stopped answering (no reply for 1000 ms)", events.RootElement.GetProperty("events")[0].GetProperty("text").GetString());
        Assert.Equal("the tunnel's own log line", log.RootElement[0].GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
    }
}
