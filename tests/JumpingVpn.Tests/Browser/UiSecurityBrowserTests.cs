using System.Text;
using Microsoft.Playwright;

namespace JumpingVpn.Tests.Browser;

/// <summary>
/// The UI's guard seen from a real browser against a real manager (docs/ui.md "Security"): a rebound host name gets
/// 403, a browser without the cookie 401, a foreign page's form and fetch cannot change anything (403), a sign-in
/// link works once.
/// </summary>
[Collection(BrowserCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class UiSecurityBrowserTests
{
    private static ManagerUnderTest StartWithOneTunnel() => ManagerUnderTest.Start(prepareConfigDirectory: dir =>
    {
        string path = Path.Combine(dir, "home.conf");
        File.WriteAllText(path, SampleConfigs.Client());
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    });

    [Fact]
    public async Task Rebound_host_name_is_refused_even_when_signed_in()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = StartWithOneTunnel();
        // DNS rebinding: a foreign name that resolves to 127.0.0.1 (Chromium's resolver rule stands in for the attacker's DNS).
        await using UiBrowser ui = await UiBrowser.StartAsync(manager, extraArgs: ["--host-resolver-rules=MAP rebind.test 127.0.0.1"]);

        IResponse? page = await ui.Page.GotoAsync($"http://rebind.test:{manager.Port}/");
        Assert.Equal(403, page?.Status);
        IResponse? api = await ui.Page.GotoAsync($"http://rebind.test:{manager.Port}/api/tunnels/list");
        Assert.Equal(403, api?.Status);
        Assert.DoesNotContain("home", await api!.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Browser_without_the_cookie_gets_401_with_the_way_in()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = StartWithOneTunnel();
        await using UiBrowser ui = await UiBrowser.StartAsync(manager, signIn: false);

        IResponse? response = await ui.Page.GotoAsync(manager.BaseAddress.AbsoluteUri);

        Assert.Equal(401, response?.Status);
        Assert.Contains("jvpn ui", await response!.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Foreign_page_cannot_delete_a_tunnel_by_form_or_fetch()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = StartWithOneTunnel();
        await using UiBrowser ui = await UiBrowser.StartAsync(manager);
        string target = new Uri(manager.BaseAddress, "api/tunnels/delete").AbsoluteUri;
        // The attacker's page, served by Playwright for http://attacker.test/ (nothing leaves the machine).
        string attacker =
            "<!doctype html><html><body>" +
            $"<form id=f method=post action=\"{target}\" enctype=\"text/plain\"><input name='{{\"name\":\"home\",\"x\":\"' value='\"}}'></form>" +
            $"<script>fetch('{target}',{{method:'POST',credentials:'include',mode:'no-cors',headers:{{'Content-Type':'text/plain'}},body:JSON.stringify({{name:'home'}})}})" +
            ".finally(()=>document.getElementById('f').submit());</script></body></html>";
        await ui.Page.RouteAsync("http://attacker.test/**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 200,
            ContentType = "text/html",
            Body = attacker,
        }));
        var statuses = new List<int>();
        ui.Page.Response += (_, r) =>
        {
            if (r.Url == target)
            {
                lock (statuses)
                {
                    statuses.Add(r.Status);
                }
            }
        };

        IResponse? formAnswer = await ui.Page.RunAndWaitForResponseAsync(
            () => ui.Page.GotoAsync("http://attacker.test/"),
            r => r.Url == target && r.Request.ResourceType == "document");

        Assert.Equal(403, formAnswer.Status);
        Assert.True(File.Exists(Path.Combine(manager.ConfigDirectory, "home.conf")), "the foreign page deleted the tunnel");
        lock (statuses)
        {
            Assert.All(statuses, s => Assert.Equal(403, s));
        }
    }

    [Fact]
    public async Task Sign_in_link_works_once()
    {
        UiBrowser.EnsureAvailable();
        using ManagerUnderTest manager = StartWithOneTunnel();
        await using UiBrowser ui = await UiBrowser.StartAsync(manager, signIn: false);
        Uri link = manager.SignInLink();

        IResponse? first = await ui.Page.GotoAsync(link.AbsoluteUri);
        Assert.Equal(200, first?.Status);
        Assert.Equal(manager.BaseAddress.AbsoluteUri, ui.Page.Url); // the token is gone from the address bar
        await Assertions.Expect(ui.Page.Locator("tr[data-tunnel=home]")).ToHaveCountAsync(1);

        IPage other = await ui.NewProfilePageAsync();
        IResponse? reused = await other.GotoAsync(link.AbsoluteUri);
        Assert.Equal(403, reused?.Status);
        Assert.Contains("used up or expired", Encoding.UTF8.GetString(await reused!.BodyAsync()), StringComparison.Ordinal);
        IResponse? after = await other.GotoAsync(manager.BaseAddress.AbsoluteUri);
        Assert.Equal(401, after?.Status);
    }
}
