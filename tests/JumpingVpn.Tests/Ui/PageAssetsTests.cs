using System.Net;
using System.Text.RegularExpressions;
using JumpingVpn.Ui.Events;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Tunnel;

namespace JumpingVpn.Tests.Ui;

/// <summary>
/// The tunnel and events pages as the browser gets them (docs/ui.md "Tunnel page", "Events", "Assets"): the ids and
/// attributes the browser scenario reads, every script and stylesheet they load served from the UI itself (uPlot
/// from the bundle, no other host), and no inline script or style the CSP would block.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class PageAssetsTests : IDisposable
{
    private readonly UiTestTunnels _tunnels = new();

    public void Dispose() => _tunnels.Dispose();

    private async Task<UiTestClient> Start() =>
        await UiTestClient.StartAsync(
            new TunnelModule(_tunnels, TimeProvider.System, _tunnels.SocketDirectory, startSampler: false),
            new EventsModule(_tunnels, _tunnels.SocketDirectory));

    private static async Task<(HttpStatusCode Status, string Type, string Body)> Fetch(UiTestClient ui, string path)
    {
        using HttpResponseMessage r = await ui.Http.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
        return (r.StatusCode, r.Content.Headers.ContentType?.MediaType ?? "", await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("tunnel.html", new[] { "id=\"session-state\"", "id=\"paths\"", "id=\"switches\"", "id=\"timeline\"", "id=\"if-public-key\"", "id=\"peers\"", "id=\"killswitch\"", "id=\"killswitch-lan\"" })]
    [InlineData("events.html", new[] { "id=\"events\"", "id=\"events-tunnel\"", "id=\"events-kind\"", "id=\"events-filter\"", "id=\"log\"", "id=\"log-copy\"", "id=\"log-save\"" })]
    public async Task Pages_carry_the_contract_ids_and_load_only_their_own_assets(string page, string[] ids)
    {
        await using UiTestClient ui = await Start();

        (HttpStatusCode status, string type, string html) = await Fetch(ui, page);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/html", type);
        foreach (string id in ids)
        {
            Assert.Contains(id, html, StringComparison.Ordinal);
        }
        Assert.DoesNotMatch(InlineScriptOrStyle(), html);
        Assert.Contains("<a href=\"/events.html\">Events</a>", html, StringComparison.Ordinal);
        MatchCollection assets = AssetReference().Matches(html);
        Assert.True(assets.Count >= 3, $"{page} loads {assets.Count} assets");
        foreach (Match m in assets)
        {
            string src = m.Groups["src"].Value;
            Assert.StartsWith("/", src, StringComparison.Ordinal); // no other host
            (HttpStatusCode s, string t, string body) = await Fetch(ui, src.TrimStart('/'));
            Assert.True(s == HttpStatusCode.OK, $"{page} loads {src}: {(int)s}");
            Assert.Equal(src.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : "text/css", t);
            Assert.NotEmpty(body);
        }
    }

    [Fact]
    public async Task The_tunnel_script_writes_the_contract_attributes_and_the_bundle_is_upstream_uplot()
    {
        await using UiTestClient ui = await Start();

        (_, _, string script) = await Fetch(ui, "tunnel/tunnel.js");
        foreach (string attribute in new[] { "dataset.path", "dataset.role", "dataset.state", "dataset.switch", "dataset.from", "dataset.to", "dataset.reason", "dataset.gapMs" })
        {
            Assert.Contains(attribute, script, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("innerHTML", script, StringComparison.Ordinal); // data from the daemon is text, never markup

        (HttpStatusCode status, _, string uplot) = await Fetch(ui, "lib/uplot/uPlot.iife.min.js");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("uPlot", uplot, StringComparison.Ordinal);
        string bundled = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "src", "Ui", "node_modules", "uplot", "dist", "uPlot.iife.min.js"), TestContext.Current.CancellationToken);
        Assert.Equal(bundled, uplot);
        (HttpStatusCode css, _, _) = await Fetch(ui, "lib/uplot/uPlot.min.css");
        Assert.Equal(HttpStatusCode.OK, css);
    }

    [Fact]
    public void The_pinned_uplot_is_exact_in_package_json_and_the_lock()
    {
        string ui = Path.Combine(RepositoryRoot(), "src", "Ui");
        string manifest = File.ReadAllText(Path.Combine(ui, "package.json"));
        string lockFile = File.ReadAllText(Path.Combine(ui, "package-lock.json"));
        Match pinned = PinnedUplot().Match(manifest);
        Assert.True(pinned.Success, "package.json pins uplot to an exact version");
        Assert.Contains($"\"version\": \"{pinned.Groups["v"].Value}\"", lockFile, StringComparison.Ordinal);
        Assert.Contains("\"integrity\": \"sha512-", lockFile, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_page_gets_the_one_shared_header_and_the_favicon_is_served()
    {
        await using UiTestClient ui = await Start();
        string wwwroot = Path.Combine(RepositoryRoot(), "src", "Ui", "wwwroot");

        foreach (string page in new[] { "", "tunnel.html", "events.html", "server.html" })
        {
            (HttpStatusCode status, _, string html) = await Fetch(ui, page);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.DoesNotContain("<!-- include", html, StringComparison.Ordinal);
            Assert.Single(Regex.Matches(html, "<nav aria-label=\"Main\">"));
            Assert.Contains("<link rel=\"icon\" href=\"/favicon.ico\">", html, StringComparison.Ordinal);
            Assert.Matches("<meta charset=\"utf-8\">\\s*<link rel=\"icon\"", html);
            Assert.DoesNotMatch(InlineScriptOrStyle(), html);
            // The page's own file names the parts and repeats none of them.
            string source = await File.ReadAllTextAsync(Path.Combine(wwwroot, page.Length == 0 ? "index.html" : page), TestContext.Current.CancellationToken);
            Assert.DoesNotContain("<nav aria-label=\"Main\"", source, StringComparison.Ordinal);
            Assert.DoesNotContain("/common/app.js", source, StringComparison.Ordinal);
        }
        (HttpStatusCode partStatus, _, _) = await Fetch(ui, "common/header.part.html");
        Assert.Equal(HttpStatusCode.NotFound, partStatus);

        using HttpResponseMessage icon = await ui.Http.GetAsync(new Uri("favicon.ico", UriKind.Relative), TestContext.Current.CancellationToken);
        byte[] bytes = await icon.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
        Assert.Equal("image/x-icon", icon.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0, 0, 1, 0, 1, 0 }, bytes[..6]); // an icon file holding one image
    }

    [Fact]
    public void An_include_of_a_missing_part_is_refused_not_served_half()
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal) { ["common/a.part.html"] = "  <p>A</p>\n" };

        Assert.Equal("<body>\n  <p>A</p>\n</body>", EmbeddedAssets.Expand("x.html", "<body>\n  <!-- include common/a.part.html -->\n</body>", parts));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => EmbeddedAssets.Expand("x.html", "  <!-- include common/b.part.html -->\n", parts));
        Assert.Contains("common/b.part.html", e.Message, StringComparison.Ordinal);
    }

    private static string RepositoryRoot() => JumpingVpn.Tests.Infrastructure.RepositoryRoot.Find();

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScriptOrStyle();

    [GeneratedRegex(@"<(?:script|link)[^>]*(?:src|href)=""(?<src>[^""]+\.(?:js|css))""")]
    private static partial Regex AssetReference();

    [GeneratedRegex(@"""uplot"":\s*""(?<v>\d+\.\d+\.\d+)""")]
    private static partial Regex PinnedUplot();
}
