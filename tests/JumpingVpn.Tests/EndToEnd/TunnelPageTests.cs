using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;
using JumpingVpn.Tests.Ui;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Tunnel;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// The tunnel page's endpoints against a real two-link jvpn client (docs/ui.md "Tunnel page", "Timeline"; the
/// topology of docs/design.md §8): Wi-Fi goes down and the page's data shows the switch to cellular with its measured
/// gap, the paths' roles swapped, and a timeline whose lane moves from Wi-Fi to cellular.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class TunnelPageTests
{
    private sealed class OneTunnel(TunnelEntry tunnel) : ITunnelDirectory
    {
        public IReadOnlyList<TunnelEntry> List() => [tunnel];

        public IReadOnlyList<TunnelLogLine> Log(string name, int max) => [];
    }

    private static async Task<JsonElement> Get(UiTestClient ui, string path)
    {
        using HttpResponseMessage r = await ui.Http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        string body = await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(r.IsSuccessStatusCode, $"{path}: {(int)r.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Wifi_down_shows_as_a_switch_to_cellular_with_its_gap()
    {
        Requirements.Ensure(["jvpn", "ping", "nft"]);
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = topology.StartTunnel();
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        tunnel.WaitForActive(TwoLinkTopology.Wifi, TimeSpan.FromSeconds(10));
        var directory = new OneTunnel(new TunnelEntry("laptop", tunnel.Client.InterfaceName, TunnelState.Active, tunnel.Client.ConfigPath, false));
        await using var module = new TunnelModule(directory, TimeProvider.System);
        await using UiTestClient ui = await UiTestClient.StartAsync(module, new EventsModule(directory));

        JsonElement before = await Get(ui, "api/tunnel/laptop/status");
        Assert.True(before.GetProperty("running").GetBoolean(), before.ToString());
        Assert.Equal("ATTACHED", before.GetProperty("session").GetProperty("state").GetString());
        string sessionId = before.GetProperty("session").GetProperty("id").GetString()!;
        Assert.Contains(before.GetProperty("paths").EnumerateArray(),
            p => p.GetProperty("interface").GetString() == TwoLinkTopology.Wifi && p.GetProperty("role").GetString() == "active");
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken); // a few timeline samples on Wi-Fi

        // Traffic through the tunnel while the link goes, as a user's would be.
        GapMeter meter = GapMeter.Start(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(6));
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        DateTimeOffset downAt = DateTimeOffset.UtcNow;
        topology.LinkDown(TwoLinkTopology.Wifi);
        JsonElement? shown = null;
        TimeSpan seenAfter = TimeSpan.Zero;
        while (shown is null && DateTimeOffset.UtcNow - downAt < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
            JsonElement s = await Get(ui, "api/tunnel/laptop/status");
            if (s.GetProperty("switches").EnumerateArray().Any(w => w.GetProperty("to").GetString() == TwoLinkTopology.Cell))
            {
                shown = s;
                seenAfter = DateTimeOffset.UtcNow - downAt;
            }
        }
        GapReport gap = meter.Wait();
        Assert.True(shown is not null, $"no switch to {TwoLinkTopology.Cell} on the page's status within 10 s\n{tunnel.Describe()}");
        JsonElement after = shown.Value;
        JsonElement sw = after.GetProperty("switches").EnumerateArray().Single(w => w.GetProperty("to").GetString() == TwoLinkTopology.Cell);
        long gapMs = sw.GetProperty("gapMs").GetInt64();
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"tunnel page: link down -> switch shown after {seenAfter.TotalMilliseconds:0} ms: \"{sw.GetProperty("text").GetString()}\"; ping {gap}"));
        Assert.Equal(TwoLinkTopology.Wifi, sw.GetProperty("from").GetString());
        Assert.Equal("TRANSPORT_DEAD_RECOVERY", sw.GetProperty("reason").GetString());
        Assert.InRange(gapMs, 0, 2000);
        Assert.Equal($"{TwoLinkTopology.Wifi} lost → moved to {TwoLinkTopology.Cell} in {gapMs} ms", sw.GetProperty("text").GetString());
        Assert.InRange(sw.GetProperty("atMs").GetInt64(), downAt.ToUnixTimeMilliseconds() - 500, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(sessionId, after.GetProperty("session").GetProperty("id").GetString());
        Assert.Contains(after.GetProperty("paths").EnumerateArray(),
            p => p.GetProperty("interface").GetString() == TwoLinkTopology.Cell && p.GetProperty("role").GetString() == "active");

        // The timeline's lane moves from Wi-Fi to cellular at the switch, which it carries as a marker.
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        JsonElement timeline = await Get(ui, "api/tunnel/laptop/timeline");
        string[] links = [.. timeline.GetProperty("links").EnumerateArray().Select(l => l.GetProperty("name").GetString()!)];
        string?[] carrying = [.. timeline.GetProperty("activeLink").EnumerateArray().Select(i => i.GetInt32() < 0 ? null : links[i.GetInt32()])];
        int firstCell = Array.IndexOf(carrying, TwoLinkTopology.Cell);
        Assert.True(firstCell > 0 && Array.IndexOf(carrying, TwoLinkTopology.Wifi, 0, firstCell) >= 0, $"lanes: {string.Join(",", carrying)}");
        Assert.Equal(TwoLinkTopology.Cell, carrying[^1]);
        Assert.Contains(timeline.GetProperty("switches").EnumerateArray(), w => w.GetProperty("to").GetString() == TwoLinkTopology.Cell);
        Assert.True(timeline.GetProperty("t").GetArrayLength() >= 5, timeline.ToString());

        // The Events page reads the daemon's own audit trail of the same switch as the same sentence.
        JsonElement events = await Get(ui, "api/events/laptop");
        Assert.True(events.GetProperty("running").GetBoolean(), events.ToString());
        string[] sentences = [.. events.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("kind").GetString() == "switch").Select(e => e.GetProperty("text").GetString()!)];
        TunnelScenarios.Log("events page, switches: " + string.Join(" | ", sentences));
        Assert.Contains($"{TwoLinkTopology.Wifi} lost → moved to {TwoLinkTopology.Cell} in {gapMs} ms", sentences);
        Assert.DoesNotContain(events.GetProperty("events").EnumerateArray(), e => e.GetProperty("text").GetString()!.StartsWith('{'));
        Assert.Contains(timeline.GetProperty("rxBps").EnumerateArray(), v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0);
    }
}
