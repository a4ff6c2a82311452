using System.Net;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Tests.Ui;

/// <summary>
/// The request guard against a real Kestrel on loopback (docs/ui.md "Security"): wrong Host 403, no cookie 401,
/// cross-origin POST 403, a sign-in link works once, and the headers every response carries.
/// </summary>
public sealed class UiSecurityTests
{
    private sealed class EchoModule : IUiModule
    {
        public string Name => "echo";

        public void Map(IEndpointRouteBuilder routes)
        {
            routes.MapGet("/api/echo/ping", () => Results.Json(new { pong = true }));
            routes.MapPost("/api/echo/change", () => Results.Json(new { changed = true }));
        }
    }

    [Fact]
    public async Task Signed_in_client_reads_and_changes()
    {
        await using UiTestClient ui = await UiTestClient.StartAsync(new EchoModule());

        using HttpResponseMessage get = await ui.Http.GetAsync(new Uri("api/echo/ping", UriKind.Relative), TestContext.Current.CancellationToken);
        using HttpResponseMessage post = await ui.Http.PostAsync(new Uri("api/echo/change", UriKind.Relative), null, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal(RequestGuard.ContentSecurityPolicy, get.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("no-referrer", get.Headers.GetValues("Referrer-Policy").Single());
    }

    [Fact]
    public async Task Request_without_cookie_is_401()
    {
        await using UiHost host = await UiHost.StartAsync(new UiHostOptions(), [new EchoModule()], TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = host.BaseAddress };

        using HttpResponseMessage api = await http.GetAsync(new Uri("api/echo/ping", UriKind.Relative), TestContext.Current.CancellationToken);
        using HttpResponseMessage page = await http.GetAsync(new Uri("/", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Contains("jvpn ui", await api.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:80")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:1")]
    public async Task Foreign_host_header_is_403_even_when_signed_in(string hostHeader)
    {
        await using UiTestClient ui = await UiTestClient.StartAsync(new EchoModule());
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/echo/ping");
        request.Headers.Host = hostHeader;

        using HttpResponseMessage response = await ui.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Localhost_name_with_the_right_port_is_allowed()
    {
        await using UiTestClient ui = await UiTestClient.StartAsync(new EchoModule());
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/echo/ping");
        request.Headers.Host = "localhost:" + ui.Host.Port;

        using HttpResponseMessage response = await ui.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("null")]
    [InlineData("")]
    public async Task Cross_origin_or_originless_post_is_403_even_with_the_cookie(string origin)
    {
        await using UiTestClient ui = await UiTestClient.StartAsync(new EchoModule());
        ui.Http.DefaultRequestHeaders.Remove("Origin");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/echo/change");
        if (origin.Length > 0)
        {
            request.Headers.Add("Origin", origin);
        }

        using HttpResponseMessage response = await ui.Http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Sign_in_link_works_once_and_sets_a_strict_httponly_cookie()
    {
        await using UiHost host = await UiHost.StartAsync(new UiHostOptions(), [new EchoModule()], TestContext.Current.CancellationToken);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler);
        Uri link = host.IssueSignInUrl();

        using HttpResponseMessage first = await http.GetAsync(link, TestContext.Current.CancellationToken);
        using HttpResponseMessage again = await http.GetAsync(link, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.SeeOther, first.StatusCode);
        Assert.Equal("/", first.Headers.Location?.OriginalString);
        string cookie = first.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith(UiSessions.CookieName + "=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
    }

    [Fact]
    public async Task Expired_sign_in_link_is_refused()
    {
        var time = new ManualTimeProvider();
        await using UiHost host = await UiHost.StartAsync(new UiHostOptions { Time = time }, [], TestContext.Current.CancellationToken);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler);
        Uri link = host.IssueSignInUrl();
        time.Advance(TimeSpan.FromSeconds(61));

        using HttpResponseMessage response = await http.GetAsync(link, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Made_up_token_is_refused()
    {
        await using UiHost host = await UiHost.StartAsync(new UiHostOptions(), [], TestContext.Current.CancellationToken);
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler) { BaseAddress = host.BaseAddress };

        using HttpResponseMessage response = await http.GetAsync(new Uri("auth?token=AAAA", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Signed_in_browser_gets_the_embedded_index_page()
    {
        await using UiTestClient ui = await UiTestClient.StartAsync();

        using HttpResponseMessage index = await ui.Http.GetAsync(new Uri("/", UriKind.Relative), TestContext.Current.CancellationToken);
        using HttpResponseMessage script = await ui.Http.GetAsync(new Uri("/common/app.js", UriKind.Relative), TestContext.Current.CancellationToken);
        using HttpResponseMessage missing = await ui.Http.GetAsync(new Uri("/nope.html", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.StartsWith("text/html", index.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Contains("<nav", await index.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.StartsWith("text/javascript", script.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
