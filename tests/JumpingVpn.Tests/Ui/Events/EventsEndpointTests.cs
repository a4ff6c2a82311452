using System.Net;
using System.Text.Json;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.Hosting;

namespace JumpingVpn.Tests.Ui.Events;

/// <summary>
/// The Events page's endpoints through a real UI server reading a real UAPI socket (docs/ui.md "Events"): events as
/// sentences after a cursor, a restarted daemon read from its start, the daemon log as JSON and as a download.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EventsEndpointTests : IDisposable
{
    private const string Switched = """{"ts_ms":1764201600000,"event_type":"PATH_DECISION","session_id":"5f3a","node_id":"c","policy_version":"1","state_version":4,"decision":"switched","interface":"cell0","from_interface":"wlan0","reason_code":"TRANSPORT_DEAD_RECOVERY","detail":"gap_ms=58"}""";
    private const string Dead = """{"ts_ms":1764201599000,"event_type":"PATH_DECISION","session_id":"5f3a","node_id":"c","policy_version":"1","state_version":4,"decision":"path_dead","interface":"wlan0","reason_code":"","detail":"no reply for 1000 ms"}""";

    private readonly UiTestTunnels _tunnels = new();
    private readonly string _iface = UiTestTunnels.NewInterfaceName();

    public EventsEndpointTests()
    {
        _tunnels.Tunnels.Add(new TunnelEntry("home", _iface, TunnelState.Active, _tunnels.WriteConfig("home", "10.8.0.2/32"), false));
        _tunnels.Tunnels.Add(new TunnelEntry("office", UiTestTunnels.NewInterfaceName(), TunnelState.Failed, _tunnels.WriteConfig("office", "10.9.0.2/32"), false));
    }

    public void Dispose() => _tunnels.Dispose();

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Get(UiTestClient ui, string path)
    {
        HttpResponseMessage r = await ui.Http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        return (r.StatusCode, await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), r);
    }

    private static async Task<JsonElement> GetJson(UiTestClient ui, string path)
    {
        (HttpStatusCode status, string body, HttpResponseMessage r) = await Get(ui, path);
        r.Dispose();
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Events_come_as_sentences_after_the_cursor_with_the_raw_line()
    {
        _tunnels.Run(_iface);
        _tunnels.AuditLines.AddRange([Dead, Switched]);
        await using UiTestClient ui = await UiTestClient.StartAsync(new EventsModule(_tunnels, _tunnels.SocketDirectory));

        JsonElement first = await GetJson(ui, "api/events/home");

        Assert.True(first.GetProperty("running").GetBoolean());
        Assert.Equal(2, first.GetProperty("cursor").GetInt64());
        JsonElement[] events = [.. first.GetProperty("events").EnumerateArray()];
        Assert.Equal(["wlan0 stopped answering (no reply for 1000 ms)", "wlan0 lost → moved to cell0 in 58 ms"], events.Select(e => e.GetProperty("text").GetString()));
        Assert.Equal(["path", "switch"], events.Select(e => e.GetProperty("kind").GetString()));
        Assert.Equal(1764201600000, events[1].GetProperty("tsMs").GetInt64());
        Assert.Equal("PATH_DECISION", events[1].GetProperty("type").GetString());
        Assert.Equal("5f3a", events[1].GetProperty("sessionId").GetString());
        Assert.Equal(Switched, events[1].GetProperty("raw").GetString());

        JsonElement none = await GetJson(ui, "api/events/home?cursor=2");
        Assert.Empty(none.GetProperty("events").EnumerateArray());

        _tunnels.AuditLines.Add("""{"ts_ms":1764201601000,"event_type":"SECURITY_EVENT","violation_type":"REPLAY_DETECTED"}""");
        JsonElement next = await GetJson(ui, "api/events/home?cursor=2");
        Assert.Equal("security: replay detected", Assert.Single(next.GetProperty("events").EnumerateArray()).GetProperty("text").GetString());
        Assert.Equal(3, next.GetProperty("cursor").GetInt64());
    }

    [Fact]
    public async Task A_restarted_daemon_is_read_from_its_first_event()
    {
        _tunnels.Run(_iface);
        _tunnels.AuditLines.Add(Switched); // the new daemon has one event; the page's cursor is from the old one
        await using UiTestClient ui = await UiTestClient.StartAsync(new EventsModule(_tunnels, _tunnels.SocketDirectory));

        JsonElement page = await GetJson(ui, "api/events/home?cursor=40");

        Assert.Equal(1, page.GetProperty("cursor").GetInt64());
        Assert.Equal("wlan0 lost → moved to cell0 in 58 ms", Assert.Single(page.GetProperty("events").EnumerateArray()).GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_stopped_tunnel_another_wireguard_an_unknown_name_and_a_bad_cursor_are_named()
    {
        await using UiTestClient ui = await UiTestClient.StartAsync(new EventsModule(_tunnels, _tunnels.SocketDirectory));

        JsonElement office = await GetJson(ui, "api/events/office");
        Assert.False(office.GetProperty("running").GetBoolean());
        Assert.StartsWith("office is failed: the running daemon keeps its events", office.GetProperty("problem").GetString(), StringComparison.Ordinal);

        JsonElement silent = await GetJson(ui, "api/events/home");
        Assert.Contains(_iface + " does not answer", silent.GetProperty("problem").GetString(), StringComparison.Ordinal);

        _tunnels.Run(_iface);
        _tunnels.RefuseEvents = true;
        JsonElement other = await GetJson(ui, "api/events/home");
        Assert.Contains("is not a jvpn interface", other.GetProperty("problem").GetString(), StringComparison.Ordinal);

        (HttpStatusCode unknown, string body, HttpResponseMessage r1) = await Get(ui, "api/events/nope");
        r1.Dispose();
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Contains("no tunnel named `nope`", body, StringComparison.Ordinal);
        (HttpStatusCode bad, string badBody, HttpResponseMessage r2) = await Get(ui, "api/events/home?cursor=-3");
        r2.Dispose();
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("cursor must be a non-negative number", badBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tunnels_are_listed_and_the_log_is_served_as_json_and_as_a_file()
    {
        var t0 = new DateTimeOffset(2026, 12, 7, 19, 0, 0, TimeSpan.Zero);
        _tunnels.AddLog("home", t0, "interface jvu0 up");
        _tunnels.AddLog("home", t0.AddSeconds(1), "session 5f3a attached");
        await using UiTestClient ui = await UiTestClient.StartAsync(new EventsModule(_tunnels, _tunnels.SocketDirectory));

        JsonElement tunnels = await GetJson(ui, "api/events");
        Assert.Equal(["home:active", "office:failed"], tunnels.EnumerateArray().Select(t => t.GetProperty("name").GetString() + ":" + t.GetProperty("state").GetString()));

        JsonElement log = await GetJson(ui, "api/events/home/log");
        Assert.Equal(["interface jvu0 up", "session 5f3a attached"], log.EnumerateArray().Select(l => l.GetProperty("text").GetString()));
        Assert.Equal(t0, log[0].GetProperty("time").GetDateTimeOffset());

        (HttpStatusCode status, string text, HttpResponseMessage file) = await Get(ui, "api/events/home/log.txt");
        using (file)
        {
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("text/plain", file.Content.Headers.ContentType?.MediaType);
            Assert.Equal("home.log", file.Content.Headers.ContentDisposition?.FileNameStar ?? file.Content.Headers.ContentDisposition?.FileName);
            Assert.Equal("2026-12-07 19:00:00.000 +00:00  interface jvu0 up\n2026-12-07 19:00:01.000 +00:00  session 5f3a attached\n", text);
        }
        JsonElement empty = await GetJson(ui, "api/events/office/log");
        Assert.Empty(empty.EnumerateArray());
    }
}
