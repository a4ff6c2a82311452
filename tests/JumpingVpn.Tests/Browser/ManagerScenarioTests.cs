using System.Diagnostics;
using System.Globalization;
using System.Text;
using JumpingVpn.Tests.EndToEnd;
using JumpingVpn.Tests.Infrastructure;
using Microsoft.Playwright;

namespace JumpingVpn.Tests.Browser;

/// <summary>
/// The user's first scenario in a real browser against real tunnels (docs/ui.md "Tests"): a <c>jvpn manager</c> in
/// the client namespace of <see cref="TwoLinkTopology"/> (Wi-Fi and cellular), a jvpn server behind the router. The
/// user imports the client config through the page, activates it, sees the handshake and the session, loses Wi-Fi,
/// sees the switch to cellular on the tunnel page within 2 s with its measured gap, and deactivates.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ManagerScenarioTests
{
    private static readonly string[] Tools = ["jvpn", "ping", "nft", "chromium"];

    private sealed record Setup(TwoLinkTopology Topology, JvpnPeer Server, string ClientName, string ClientConfig);

    private static Setup Prepare(TwoLinkTopology topology)
    {
        KeyPair serverKeys = KeyPair.Generate();
        KeyPair clientKeys = KeyPair.Generate();
        var serverConfig = new TunnelConfig(serverKeys.PrivateKey, [TwoHostTopology.ServerTunnelV4 + "/24"],
            [new TunnelPeerConfig(clientKeys.PublicKey, [TwoHostTopology.ClientTunnelV4 + "/32"])],
            ListenPort: TwoHostTopology.ServerListenPort, Mtu: TwoHostTopology.Mtu);
        var clientConfig = new TunnelConfig(clientKeys.PrivateKey, [TwoHostTopology.ClientTunnelV4 + "/24"],
            [new TunnelPeerConfig(serverKeys.PublicKey, ["0.0.0.0/0"],
                Endpoint: string.Create(CultureInfo.InvariantCulture, $"{topology.ServerUnderlayV4}:{TwoHostTopology.ServerListenPort}"))],
            Mtu: TwoHostTopology.Mtu,
            Jumping: new Dictionary<string, string> { ["Interfaces"] = $"{TwoLinkTopology.Wifi}, {TwoLinkTopology.Cell}" });
        JvpnPeer server = JvpnPeer.Start(topology.Server, serverConfig);
        return new Setup(topology, server, "jvm" + NetNs.RandomHex(3), clientConfig.ToWgQuick());
    }

    private static async Task<ILocator> ImportAndActivateAsync(UiBrowser ui, Setup setup)
    {
        IPage page = ui.Page;
        await page.Locator("input#import-files").SetInputFilesAsync(new FilePayload
        {
            Name = setup.ClientName + ".conf",
            MimeType = "text/plain",
            Buffer = Encoding.UTF8.GetBytes(setup.ClientConfig),
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        ILocator row = page.Locator($"tr[data-tunnel={setup.ClientName}]");
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "inactive");
        await row.GetByRole(AriaRole.Button, new() { Name = "Activate" }).ClickAsync();
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "active", new() { Timeout = 20_000 });
        Assert.True(Ping.WaitForReply(setup.Topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(10)),
            $"no ping reply through the tunnel the page activated\n{setup.Server.Describe()}");
        return row;
    }

    [Fact]
    public async Task Import_activate_watch_the_switch_to_cellular_then_deactivate()
    {
        Requirements.Ensure(Tools);
        UiBrowser.EnsureAvailable();
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        Setup setup = Prepare(topology);
        using JvpnPeer server = setup.Server;
        using ManagerUnderTest manager = ManagerUnderTest.Start(topology.Client);
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        IPage page = ui.Page;

        ILocator row = await ImportAndActivateAsync(ui, setup);
        await ui.ScreenshotAsync("scenario-tunnels-active");

        // The tunnel page (its DOM contract: docs/ui.md "Tunnel page"): the session attached, Wi-Fi active.
        await row.GetByRole(AriaRole.Link, new() { Name = setup.ClientName, Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#session-state")).ToContainTextAsync("Attached", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator($"#paths tr[data-path={TwoLinkTopology.Wifi}]")).ToHaveAttributeAsync("data-role", "active", new() { Timeout = 10_000 });

        topology.LinkDown(TwoLinkTopology.Wifi);
        var clock = Stopwatch.StartNew();
        ILocator change = page.Locator($"#switches li[data-switch][data-from={TwoLinkTopology.Wifi}][data-to={TwoLinkTopology.Cell}]");
        await Assertions.Expect(change).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        TimeSpan shown = clock.Elapsed;
        string gap = await change.GetAttributeAsync("data-gap-ms") ?? "";
        string text = await change.TextContentAsync() ?? "";
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"manager scenario: Wi-Fi down -> switch shown on the tunnel page after {shown.TotalMilliseconds:0} ms, gap {gap} ms ({text})"));
        Assert.True(shown < TimeSpan.FromSeconds(2), $"the switch appeared {shown.TotalMilliseconds:0} ms after Wi-Fi went down (2 s allowed)");
        Assert.True(long.TryParse(gap, NumberStyles.None, CultureInfo.InvariantCulture, out long gapMs) && gapMs < 2000, $"data-gap-ms={gap}");
        await Assertions.Expect(page.Locator($"#paths tr[data-path={TwoLinkTopology.Cell}]")).ToHaveAttributeAsync("data-role", "active");
        await ui.ScreenshotAsync("scenario-tunnel-after-switch");

        await page.GotoAsync(manager.BaseAddress.AbsoluteUri);
        await DeactivateAsync(ui, setup, manager);
    }

    /// <summary>The same tunnel through the manager alone: a tunnel killed from outside shows Failed with its log, and no
    /// restart happens behind the user's back; activating again brings it back; deactivating removes the interface.</summary>
    [Fact]
    public async Task Killed_tunnel_shows_failed_and_comes_back_on_activate()
    {
        Requirements.Ensure(Tools);
        UiBrowser.EnsureAvailable();
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        Setup setup = Prepare(topology);
        using JvpnPeer server = setup.Server;
        using ManagerUnderTest manager = ManagerUnderTest.Start(topology.Client);
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);

        ILocator row = await ImportAndActivateAsync(ui, setup);
        int pid = TunnelPid(setup.ClientName);
        Command.Run("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)]);
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "failed", new() { Timeout = 10_000 });
        await Assertions.Expect(row).ToContainTextAsync("exited with code 137");
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "failed");
        await ui.ScreenshotAsync("tunnels-failed");

        await row.GetByRole(AriaRole.Button, new() { Name = "Activate" }).ClickAsync();
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "active", new() { Timeout = 20_000 });
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(10)), "no ping reply after activating again");
        await DeactivateAsync(ui, setup, manager);
    }

    /// <summary>
    /// The kill switch toggle on the tunnel page of a running full tunnel (docs/ui.md "Kill switch toggle"): ticking
    /// it installs the nftables table and blocks traffic outside the tunnel (DNS over UDP and TCP, TCP, ping to the
    /// cellular gateway, which the connected route keeps outside the tunnel) while the tunnel still carries traffic;
    /// unticking removes the table and the same probe gets through again, so the test can fail.
    /// </summary>
    [Fact]
    public async Task Kill_switch_toggle_on_a_running_tunnel_blocks_untunneled_traffic()
    {
        Requirements.Ensure(Tools);
        UiBrowser.EnsureAvailable();
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        Setup setup = Prepare(topology);
        using JvpnPeer server = setup.Server;
        using var probe = new LeakProbe(topology.Client, topology.Router, topology.RouterAddress(TwoLinkTopology.Cell));
        using ManagerUnderTest manager = ManagerUnderTest.Start(topology.Client);
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        IPage page = ui.Page;
        string table = "jvpn_ks_" + setup.ClientName;

        ILocator row = await ImportAndActivateAsync(ui, setup);
        Assert.Equal(LeakProbe.Everything, probe.Try());
        await row.GetByRole(AriaRole.Link, new() { Name = setup.ClientName, Exact = true }).ClickAsync();
        ILocator box = page.Locator("#killswitch");
        ILocator text = page.Locator("#killswitch-text");
        await Assertions.Expect(box).ToBeEnabledAsync(new() { Timeout = 10_000 });
        await Assertions.Expect(box).Not.ToBeCheckedAsync();
        Assert.DoesNotContain(table, Tables(topology), StringComparison.Ordinal);

        await box.CheckAsync();
        await Assertions.Expect(text).ToContainTextAsync("kill switch on: only the tunnel may carry traffic");
        await Assertions.Expect(box).ToBeCheckedAsync();
        await Assertions.Expect(box).ToBeEnabledAsync();
        Assert.Contains(table, Tables(topology), StringComparison.Ordinal);
        string blocked = probe.Try();
        Assert.True(blocked.Length == 0, $"with the kill switch ticked, [{blocked}] got through to the cellular gateway\n{Ruleset(topology)}");
        Assert.True(Ping.WaitForReply(topology.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)),
            $"no reply through the tunnel with the kill switch on\n{Ruleset(topology)}");
        await ui.ScreenshotAsync("tunnel-killswitch-on");

        // "Allow LAN" next to it: the cellular gateway is on a path interface's private subnet, so it answers ping
        // and TCP (DNS to it stays refused); unticked, it is blocked again (docs/platform.md §4.8 "Allow LAN").
        ILocator lan = page.Locator("#killswitch-lan");
        await Assertions.Expect(lan).ToBeEnabledAsync();
        await Assertions.Expect(lan).Not.ToBeCheckedAsync();
        await lan.CheckAsync();
        await Assertions.Expect(text).ToContainTextAsync("LAN allowed (");
        await Assertions.Expect(lan).ToHaveAttributeAsync("data-lan", new System.Text.RegularExpressions.Regex(@"/24 on " + TwoLinkTopology.Cell));
        string lanOpen = probe.Try();
        Assert.True(lanOpen == "tcp ping", $"with Allow LAN ticked the cellular gateway answered [{lanOpen}]\n{Ruleset(topology)}");
        await ui.ScreenshotAsync("tunnel-killswitch-allow-lan");
        await lan.UncheckAsync();
        await Assertions.Expect(text).Not.ToContainTextAsync("LAN allowed");
        await Assertions.Expect(lan).Not.ToBeCheckedAsync();
        Assert.Equal("", probe.Try());

        // The page reads the state back after a reload: the switch is the daemon's, not the page's.
        await page.ReloadAsync();
        await Assertions.Expect(box).ToBeCheckedAsync(new() { Timeout = 10_000 });

        await box.UncheckAsync();
        await Assertions.Expect(text).ToHaveTextAsync(setup.ClientName + ": kill switch off");
        await Assertions.Expect(box).Not.ToBeCheckedAsync();
        Assert.DoesNotContain(table, Tables(topology), StringComparison.Ordinal);
        Assert.Equal(LeakProbe.Everything, probe.Try());
        TunnelScenarios.Log($"kill switch toggle in the browser: on -> table {table} present, probe blocked [{blocked}]; allow LAN -> [{lanOpen}]; off -> table gone, probe answered");

        await page.GotoAsync(manager.BaseAddress.AbsoluteUri);
        await DeactivateAsync(ui, setup, manager);
    }

    private static string Tables(TwoLinkTopology t) => t.Client.Exec("nft", "list", "tables").StandardOutput;

    private static string Ruleset(TwoLinkTopology t) => t.Client.Exec("nft", "list", "ruleset").StandardOutput;

    private static async Task DeactivateAsync(UiBrowser ui, Setup setup, ManagerUnderTest manager)
    {
        ILocator row = ui.Page.Locator($"tr[data-tunnel={setup.ClientName}]");
        await row.GetByRole(AriaRole.Button, new() { Name = "Deactivate" }).ClickAsync();
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "inactive", new() { Timeout = 15_000 });
        CommandResult link = setup.Topology.Client.TryExec("ip", ["link", "show", setup.ClientName]);
        Assert.True(link.ExitCode != 0, $"interface {setup.ClientName} still exists after Deactivate\n{manager.Process.Describe()}");
        Assert.False(File.Exists($"/run/wireguard/{setup.ClientName}.sock"));
    }

    /// <summary>The pid of the manager's <c>jvpn up</c> child for <paramref name="name"/> (from /proc, as the user would with ps).</summary>
    private static int TunnelPid(string name)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                string cmdline;
                try
                {
                    cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                }
                catch (IOException)
                {
                    continue;
                }
                if (cmdline.Contains("\0up\0", StringComparison.Ordinal) && cmdline.Contains(name + ".conf", StringComparison.Ordinal))
                {
                    return pid;
                }
            }
        }
        throw new InvalidOperationException($"no jvpn up process for {name}");
    }
}
