using System.Text;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using JumpingVpn.Tests.Infrastructure;
using Microsoft.Playwright;

namespace JumpingVpn.Tests.Browser;

/// <summary>
/// The tunnels page in a real Chromium against a real <c>jvpn manager</c> (docs/ui.md "Tunnels page"): import of
/// several files and of pasted text, the parser's error at its line, create with a live public key, edit, export,
/// start at boot, delete with confirmation. Nothing is activated here (no namespace): the scenario test does that.
/// </summary>
[Collection(BrowserCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TunnelsPageTests
{
    private static FilePayload Conf(string name, string text) => new() { Name = name, MimeType = "text/plain", Buffer = Encoding.UTF8.GetBytes(text) };

    [Fact]
    public async Task Imports_several_files_and_pasted_text_and_shows_a_bad_line()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = ManagerUnderTest.Start();
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        IPage page = ui.Page;

        await page.Locator("input#import-files").SetInputFilesAsync([Conf("home.conf", SampleConfigs.Client()), Conf("office.conf", SampleConfigs.Client())]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-tunnel=home]")).ToHaveAttributeAsync("data-state", "inactive");
        await Assertions.Expect(page.Locator("tr[data-tunnel=office]")).ToHaveAttributeAsync("data-state", "inactive");

        string bad = SampleConfigs.Client().Replace("Address = 10.66.0.2/24", "Address = 10.66.0.300/24", StringComparison.Ordinal);
        await page.Locator("#import-name").FillAsync("broken");
        await page.Locator("textarea#import-text").FillAsync(bad);
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        ILocator result = page.Locator("li[data-import=broken]");
        await Assertions.Expect(result).ToHaveAttributeAsync("data-ok", "false");
        await Assertions.Expect(result).ToContainTextAsync("broken: line 3 (Address): `10.66.0.300/24` is not an IP address");
        Assert.False(File.Exists(Path.Combine(manager.ConfigDirectory, "broken.conf")));

        await page.Locator("#import-name").FillAsync("../evil");
        await page.Locator("textarea#import-text").FillAsync(SampleConfigs.Client());
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#import-results li").First).ToContainTextAsync("not a valid tunnel name");
        Assert.False(File.Exists(Path.Combine(manager.Root, "evil.conf")));

        string home = Path.Combine(manager.ConfigDirectory, "home.conf");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(home));
        await ui.ScreenshotAsync("tunnels");
    }

    [Fact]
    public async Task Create_shows_the_public_key_live_and_the_parser_error_at_its_line_then_deletes_after_confirmation()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = ManagerUnderTest.Start();
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        IPage page = ui.Page;

        await page.GetByRole(AriaRole.Button, new() { Name = "Create tunnel" }).ClickAsync();
        ILocator publicKey = page.Locator("#editor-publickey");
        await Assertions.Expect(publicKey).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[A-Za-z0-9+/]{43}=$"));
        string generated = await publicKey.TextContentAsync() ?? "";

        KeyPair other = KeyPair.Generate();
        string text = SampleConfigs.Client().Replace("PrivateKey = ", "PrivateKey = " + other.PrivateKey + "\n#", StringComparison.Ordinal);
        await page.Locator("#editor-name").FillAsync("laptop");
        await page.Locator("#editor-text").FillAsync(text);
        await Assertions.Expect(publicKey).ToHaveTextAsync(other.PublicKey);
        Assert.NotEqual(generated, other.PublicKey);

        // A bad value on line 11 (the [Jumping] parser's turn): the error names the line and key, the gutter marks it.
        await page.Locator("#editor-text").FillAsync(SampleConfigs.Client() + "\n[Jumping]\nPaths = sometimes\n");
        await Assertions.Expect(page.Locator("#editor-problem")).ToContainTextAsync("Line 11 (Paths): 'sometimes' is not one of auto, on, off");
        await Assertions.Expect(page.Locator("#editor-gutter .bad")).ToHaveTextAsync("11");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        Assert.False(File.Exists(Path.Combine(manager.ConfigDirectory, "laptop.conf")));
        await ui.ScreenshotAsync("tunnels-editor-error");

        await page.Locator("#editor-text").FillAsync(text);
        await Assertions.Expect(page.Locator("#editor-problem")).ToHaveTextAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        ILocator row = page.Locator("tr[data-tunnel=laptop]");
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "inactive");
        Assert.Contains(other.PrivateKey, await File.ReadAllTextAsync(Path.Combine(manager.ConfigDirectory, "laptop.conf"), TestContext.Current.CancellationToken), StringComparison.Ordinal);

        // Export downloads the file as it is on disk.
        IDownload download = await page.RunAndWaitForDownloadAsync(() => row.GetByRole(AriaRole.Link, new() { Name = "Export laptop" }).ClickAsync());
        Assert.Equal("laptop.conf", download.SuggestedFilename);
        string exported = await File.ReadAllTextAsync(await download.PathAsync(), TestContext.Current.CancellationToken);
        Assert.Equal(text, exported);

        // Start at boot is remembered in the state file.
        await row.GetByRole(AriaRole.Checkbox, new() { Name = "Start laptop at boot" }).CheckAsync();
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("starts at boot");
        Assert.Contains("laptop", await File.ReadAllTextAsync(Path.Combine(manager.StateDirectory, "manager-state.json"), TestContext.Current.CancellationToken), StringComparison.Ordinal);

        // Delete asks first; "Keep" keeps it, "Delete" removes the file.
        await row.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Assertions.Expect(page.Locator("dialog#confirm-delete")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("tunnels-delete-confirmation");
        await page.GetByRole(AriaRole.Button, new() { Name = "Keep" }).ClickAsync();
        Assert.True(File.Exists(Path.Combine(manager.ConfigDirectory, "laptop.conf")));
        await row.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await page.Locator("dialog#confirm-delete").GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Assertions.Expect(row).ToHaveCountAsync(0);
        Assert.False(File.Exists(Path.Combine(manager.ConfigDirectory, "laptop.conf")));
    }

    [Fact]
    public async Task Tunnel_page_shows_the_kill_switch_of_a_stopped_tunnel_as_off_and_not_switchable()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = ManagerUnderTest.Start();
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        IPage page = ui.Page;
        await page.Locator("#import-name").FillAsync("home");
        await page.Locator("textarea#import-text").FillAsync(SampleConfigs.Client());
        await page.GetByRole(AriaRole.Button, new() { Name = "Import", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-tunnel=home]")).ToHaveAttributeAsync("data-state", "inactive");

        await page.GotoAsync(new Uri(manager.BaseAddress, "/tunnel.html?name=home").AbsoluteUri);

        ILocator box = page.GetByRole(AriaRole.Checkbox, new() { Name = "Block untunneled traffic" });
        await Assertions.Expect(page.Locator("#killswitch-text")).ToHaveTextAsync("home: kill switch off (home is not running)");
        await Assertions.Expect(box).ToBeDisabledAsync();
        await Assertions.Expect(box).Not.ToBeCheckedAsync();
    }

    [Fact]
    public async Task Every_page_has_no_serious_or_critical_accessibility_violation()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = ManagerUnderTest.Start(prepareConfigDirectory: dir =>
        {
            string path = Path.Combine(dir, "home.conf");
            File.WriteAllText(path, SampleConfigs.Client());
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        });
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        var failures = new List<string>();
        foreach (string pagePath in UiPages.All())
        {
            string url = pagePath == "/tunnel.html" ? "/tunnel.html?name=home" : pagePath;
            IResponse? response = await ui.Page.GotoAsync(new Uri(manager.BaseAddress, url).AbsoluteUri);
            Assert.True(response is { Ok: true }, $"{url}: {response?.Status}");
            await ui.Page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            if (pagePath == "/index.html")
            {
                await ui.Page.GetByRole(AriaRole.Button, new() { Name = "Create tunnel" }).ClickAsync();
                await Assertions.Expect(ui.Page.Locator("#editor-publickey")).Not.ToHaveTextAsync("–");
            }
            AxeResult axe = await ui.Page.RunAxe();
            foreach (AxeResultItem v in axe.Violations)
            {
                if (v.Impact is "serious" or "critical")
                {
                    failures.Add($"{url}: {v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}");
                }
            }
            await ui.ScreenshotAsync("page-" + Path.GetFileNameWithoutExtension(pagePath));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}

/// <summary>The pages the UI serves (its embedded *.html), so a page added later is checked too.</summary>
internal static class UiPages
{
    public static IReadOnlyList<string> All() =>
        [.. typeof(JumpingVpn.Ui.Hosting.UiHost).Assembly.GetManifestResourceNames()
            .Select(n => n.Replace('\\', '/'))
            .Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal) && n.EndsWith(".html", StringComparison.Ordinal) && !n["wwwroot/".Length..].Contains('/', StringComparison.Ordinal))
            .Select(n => "/" + n["wwwroot/".Length..])
            .Order(StringComparer.Ordinal)];
}
