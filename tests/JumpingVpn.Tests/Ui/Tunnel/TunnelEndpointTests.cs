using System.Net;
using System.Text.Json;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tests.Control.Uapi;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Tunnel;

namespace JumpingVpn.Tests.Ui.Tunnel;

/// <summary>
/// <c>/api/tunnel/{name}/status</c> and <c>/timeline</c> through a real UI server, reading a real UAPI socket
/// (docs/ui.md "Tunnel page", "Timeline"): what the tunnel page shows and what its chart draws.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TunnelEndpointTests : IDisposable
{
    private readonly UiTestTunnels _tunnels = new();
    private readonly string _iface = UiTestTunnels.NewInterfaceName();

    public TunnelEndpointTests()
    {
        _tunnels.Tunnels.Add(new TunnelEntry("home", _iface, TunnelState.Active, _tunnels.WriteConfig("home", "10.8.0.2/32, fd08::2/128"), false));
        _tunnels.Tunnels.Add(new TunnelEntry("office", UiTestTunnels.NewInterfaceName(), TunnelState.Inactive, _tunnels.WriteConfig("office", "10.9.0.2/32"), false));
        _tunnels.Tunnels.Add(new TunnelEntry("srv", UiTestTunnels.NewInterfaceName(), TunnelState.Inactive, _tunnels.WriteConfig("srv", "10.10.0.1/24"), true));
        _tunnels.SessionPayload = ClientSession(
            [new PathStatus("wlan0", "192.168.1.20", "candidate", "dead", -1, 1, 1500, 0),
             new PathStatus("cell0", "10.64.0.7", "active", "alive", 58.4, 0.02, 40, 1)],
            [new PathSwitchStatus(1200, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 1160)]);
    }

    public void Dispose() => _tunnels.Dispose();

    private static string ClientSession(PathStatus[] paths, PathSwitchStatus[] switches) => SessionStatusReply.Format(
    [
        new SessionStatusRecord
        {
            PublicKeyHex = Convert.ToHexStringLower(UapiTestData.PeerA.PublicKey),
            Role = "client",
            SessionLayer = "on",
            SessionId = "5f3a9c0de1b24c7a",
            State = "ATTACHED",
            StateVersion = 7,
            BoundAtVersion = 7,
            BoundEndpoint = "192.0.2.7:51820",
            LastReason = "REATTACH_SUCCESS",
            LastTransitionAgeMs = 1200,
            Switches = 1,
            RttMs = 58,
            Paths = paths,
            RecentSwitches = switches,
            SwitchesLastMinute = switches.Length,
        },
    ]);

    private static async Task<JsonElement> GetJson(UiTestClient ui, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using HttpResponseMessage r = await ui.Http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        string body = await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(r.StatusCode == expected, $"{path}: {(int)r.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Status_shows_interface_session_paths_peers_and_the_switch_as_a_sentence()
    {
        _tunnels.Run(_iface);
        await using var module = new TunnelModule(_tunnels, TimeProvider.System, _tunnels.SocketDirectory, startSampler: false);
        await using UiTestClient ui = await UiTestClient.StartAsync(module);

        JsonElement s = await GetJson(ui, "api/tunnel/home/status");

        Assert.True(s.GetProperty("running").GetBoolean());
        Assert.Equal("active", s.GetProperty("state").GetString());
        JsonElement i = s.GetProperty("interface");
        Assert.Equal(_iface, i.GetProperty("name").GetString());
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(UapiTestData.CountingKey(0x80), pub);
        Assert.Equal(WireGuardKey.ToBase64(pub), i.GetProperty("publicKey").GetString());
        Assert.Equal(51820, i.GetProperty("listenPort").GetInt32());
        Assert.Equal(["10.8.0.2/32", "fd08::2/128"], i.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));

        JsonElement session = s.GetProperty("session");
        Assert.Equal("ATTACHED", session.GetProperty("state").GetString());
        Assert.Equal("5f3a9c0de1b24c7a", session.GetProperty("id").GetString());
        Assert.Equal(7UL, session.GetProperty("version").GetUInt64());
        Assert.Equal("192.0.2.7:51820", session.GetProperty("boundEndpoint").GetString());

        JsonElement[] paths = [.. s.GetProperty("paths").EnumerateArray()];
        Assert.Equal(["wlan0", "cell0"], paths.Select(p => p.GetProperty("interface").GetString()));
        Assert.Equal(["standby", "active"], paths.Select(p => p.GetProperty("role").GetString()));
        Assert.Equal(["dead", "alive"], paths.Select(p => p.GetProperty("state").GetString()));
        Assert.Equal(JsonValueKind.Null, paths[0].GetProperty("rttMs").ValueKind);
        Assert.Equal(58.4, paths[1].GetProperty("rttMs").GetDouble());

        JsonElement peer = Assert.Single(s.GetProperty("peers").EnumerateArray());
        Assert.Equal("192.0.2.7:51820", peer.GetProperty("endpoint").GetString());
        Assert.Equal(2048UL, peer.GetProperty("txBytes").GetUInt64());
        Assert.Equal(1024UL, peer.GetProperty("rxBytes").GetUInt64());

        JsonElement sw = Assert.Single(s.GetProperty("switches").EnumerateArray());
        Assert.Equal("wlan0", sw.GetProperty("from").GetString());
        Assert.Equal("cell0", sw.GetProperty("to").GetString());
        Assert.Equal(1160, sw.GetProperty("gapMs").GetInt64());
        Assert.Equal("wlan0 lost → moved to cell0 in 1160 ms", sw.GetProperty("text").GetString());
        long at = sw.GetProperty("atMs").GetInt64();
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - at, 1200, 1200 + 5000);
    }

    [Fact]
    public async Task The_timeline_holds_what_the_sampler_read_as_columns_and_since_returns_the_rest()
    {
        _tunnels.Run(_iface);
        var time = new ManualTimeProvider();
        await using var module = new TunnelModule(_tunnels, time, _tunnels.SocketDirectory, startSampler: false);
        await using UiTestClient ui = await UiTestClient.StartAsync(module);

        module.Sampler.SampleOnce();
        time.Advance(TimeSpan.FromSeconds(1));
        _tunnels.SessionPayload = ClientSession(
            [new PathStatus("cell0", "10.64.0.7", "active", "alive", 60, 0, 40, 1)],
            [new PathSwitchStatus(2200, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 1160)]);
        module.Sampler.SampleOnce();

        JsonElement s = await GetJson(ui, "api/tunnel/home/timeline");
        long[] t = [.. s.GetProperty("t").EnumerateArray().Select(v => v.GetInt64())];
        Assert.Equal(2, t.Length);
        Assert.Equal(1000, t[1] - t[0]);
        Assert.Equal(300_000, s.GetProperty("windowMs").GetInt64());
        Assert.Equal(["wlan0", "cell0"], s.GetProperty("links").EnumerateArray().Select(l => l.GetProperty("name").GetString()));
        Assert.Equal([1, 1], s.GetProperty("activeLink").EnumerateArray().Select(v => v.GetInt32()));
        JsonElement cell = s.GetProperty("links")[1];
        Assert.Equal([58.4, 60.0], cell.GetProperty("rttMs").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal([JsonValueKind.Null, JsonValueKind.Number], s.GetProperty("rxBps").EnumerateArray().Select(v => v.ValueKind));
        Assert.Equal(0.0, s.GetProperty("rxBps")[1].GetDouble()); // the fake's counters do not move
        JsonElement sw = Assert.Single(s.GetProperty("switches").EnumerateArray());
        Assert.Equal(t[0] - 1200, sw.GetProperty("atMs").GetInt64());

        JsonElement later = await GetJson(ui, $"api/tunnel/home/timeline?since={t[0]}");
        Assert.Equal([t[1]], later.GetProperty("t").EnumerateArray().Select(v => v.GetInt64()));
        Assert.Empty(later.GetProperty("switches").EnumerateArray());
    }

    [Fact]
    public async Task An_inactive_tunnel_an_unknown_one_and_a_silent_socket_answer_plainly()
    {
        await using var module = new TunnelModule(_tunnels, TimeProvider.System, _tunnels.SocketDirectory, startSampler: false);
        await using UiTestClient ui = await UiTestClient.StartAsync(module);

        JsonElement office = await GetJson(ui, "api/tunnel/office/status");
        Assert.False(office.GetProperty("running").GetBoolean());
        Assert.Equal("inactive", office.GetProperty("state").GetString());
        Assert.Equal(["10.9.0.2/32"], office.GetProperty("interface").GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));

        JsonElement home = await GetJson(ui, "api/tunnel/home/status"); // active, but nothing serves its socket
        Assert.False(home.GetProperty("running").GetBoolean());
        Assert.Contains(_iface + " does not answer on its control socket", home.GetProperty("problem").GetString(), StringComparison.Ordinal);

        JsonElement server = await GetJson(ui, "api/tunnel/srv/timeline");
        Assert.Equal(0, server.GetProperty("t").GetArrayLength());
        Assert.Equal(300_000, server.GetProperty("windowMs").GetInt64());
        Assert.Null(module.Sampler.Existing("srv"));

        JsonElement unknown = await GetJson(ui, "api/tunnel/nope/status", HttpStatusCode.NotFound);
        Assert.Equal("no tunnel named `nope`: pick one on the Tunnels page", unknown.GetProperty("error").GetString());
        await GetJson(ui, "api/tunnel/nope/timeline", HttpStatusCode.NotFound);
        JsonElement bad = await GetJson(ui, "api/tunnel/home/timeline?since=yesterday", HttpStatusCode.BadRequest);
        Assert.Contains("since must be a Unix time in milliseconds", bad.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sampler_runs_on_its_own_and_stops_with_the_host()
    {
        _tunnels.Run(_iface);
        var module = new TunnelModule(_tunnels, TimeProvider.System, _tunnels.SocketDirectory);
        UiTestClient ui = await UiTestClient.StartAsync(module);
        try
        {
            int samples = 0;
            for (int i = 0; i < 100 && samples < 2; i++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
                samples = module.Sampler.Existing("home")?.SampleCount ?? 0;
            }
            Assert.True(samples >= 2, $"the sampler took {samples} sample(s) in 10 s");
        }
        finally
        {
            await ui.DisposeAsync(); // disposes the module, which stops the sampler
        }
        int stopped = module.Sampler.Existing("home")!.SampleCount;
        await Task.Delay(2500, TestContext.Current.CancellationToken);
        Assert.Equal(stopped, module.Sampler.Existing("home")!.SampleCount);
    }
}
