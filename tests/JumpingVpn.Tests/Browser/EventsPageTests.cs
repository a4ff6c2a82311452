using JumpingVpn.Tests.Ui;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.Hosting;
using Microsoft.Playwright;

namespace JumpingVpn.Tests.Browser;

/// <summary>
/// The Events page in a real Chromium (docs/ui.md "Events"): the tunnel list comes from <c>GET /api/events</c>, a
/// running tunnel's audit events show as sentences newest first, the kind and text filters narrow them in the page,
/// and a tunnel that is not running says where its events live. The UI host runs in-process with the Events module
/// over a UAPI socket answering recorded audit lines, so no namespace or manager is needed.
/// </summary>
[Collection(BrowserCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EventsPageTests
{
    private const string Dead = """{"ts_ms":1764201599000,"event_type":"PATH_DECISION","session_id":"5f3a","node_id":"c","policy_version":"1","state_version":4,"decision":"path_dead","interface":"wlan0","reason_code":"","detail":"no reply for 1000 ms"}""";
    private const string Switched = """{"ts_ms":1764201600000,"event_type":"PATH_DECISION","session_id":"5f3a","node_id":"c","policy_version":"1","state_version":4,"decision":"switched","interface":"cell0","from_interface":"wlan0","reason_code":"TRANSPORT_DEAD_RECOVERY","detail":"gap_ms=58"}""";
    private const string Replay = """{"ts_ms":1764201601000,"event_type":"SECURITY_EVENT","violation_type":"REPLAY_DETECTED"}""";

    [Fact]
    public async Task Lists_tunnels_from_the_events_route_and_filters_by_kind_and_text()
    {
        UiBrowser.EnsureAvailable();
        using var tunnels = new UiTestTunnels();
        string iface = UiTestTunnels.NewInterfaceName();
        tunnels.Tunnels.Add(new TunnelEntry("home", iface, TunnelState.Active, tunnels.WriteConfig("home", "10.8.0.2/32"), false));
        tunnels.Tunnels.Add(new TunnelEntry("office", UiTestTunnels.NewInterfaceName(), TunnelState.Failed, tunnels.WriteConfig("office", "10.9.0.2/32"), false));
        tunnels.Run(iface);
        tunnels.AuditLines.AddRange([Dead, Switched, Replay]);
        await using UiHost host = await UiHost.StartAsync(new UiHostOptions(), [new EventsModule(tunnels, tunnels.SocketDirectory)], CancellationToken.None);
        await using UiBrowser ui = await UiBrowser.StartAsync();
        IPage page = ui.Page;
        var listRequests = new List<string>();
        page.Request += (_, r) =>
        {
            if (new Uri(r.Url).AbsolutePath == "/api/events")
            {
                lock (listRequests)
                {
                    listRequests.Add(r.Method);
                }
            }
        };
        Assert.True((await page.GotoAsync(host.IssueSignInUrl().AbsoluteUri)) is { Ok: true });

        await page.GotoAsync(new Uri(host.BaseAddress, "events.html").AbsoluteUri);
        ILocator options = page.Locator("#events-tunnel option");
        await Assertions.Expect(options).ToHaveTextAsync(["home (active)", "office (failed)"]);
        await Assertions.Expect(page.Locator("#events-tunnel")).ToHaveValueAsync("home");
        lock (listRequests)
        {
            Assert.Equal(["GET"], listRequests);
        }
        ILocator events = page.Locator("#events li");
        await Assertions.Expect(events).ToHaveCountAsync(3);
        await Assertions.Expect(events.First).ToContainTextAsync("security: replay detected"); // newest first
        await ui.ScreenshotAsync("events-all");

        await page.Locator("#events-kind").SelectOptionAsync("switch");
        await Assertions.Expect(events).ToHaveCountAsync(1);
        await Assertions.Expect(events.First).ToContainTextAsync("wlan0 lost → moved to cell0 in 58 ms");
        await Assertions.Expect(events.First).ToHaveAttributeAsync("data-kind", "switch");

        await page.Locator("#events-kind").SelectOptionAsync("");
        await page.Locator("#events-filter").FillAsync("stopped answering");
        await Assertions.Expect(events).ToHaveCountAsync(1);
        await Assertions.Expect(events.First).ToContainTextAsync("wlan0 stopped answering (no reply for 1000 ms)");
        await page.Locator("#events-filter").FillAsync("5f3a"); // a session id matches its events
        await Assertions.Expect(events).ToHaveCountAsync(2);
        await page.Locator("#events-filter").FillAsync("");
        await Assertions.Expect(events).ToHaveCountAsync(3);

        // A new event arrives at the next poll (every second) without a reload.
        tunnels.AuditLines.Add("""{"ts_ms":1764201602000,"event_type":"PATH_DECISION","session_id":"5f3a","decision":"path_dead","interface":"cell0","reason_code":"","detail":"no reply for 1000 ms"}""");
        await Assertions.Expect(events).ToHaveCountAsync(4, new() { Timeout = 5000 });

        await page.Locator("#events-tunnel").SelectOptionAsync("office");
        await Assertions.Expect(page.Locator("#events-status")).ToContainTextAsync("office is failed: the running daemon keeps its events");
        await Assertions.Expect(events).ToHaveCountAsync(0);
    }
}
