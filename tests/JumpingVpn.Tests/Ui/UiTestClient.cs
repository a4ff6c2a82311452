using System.Net;
using JumpingVpn.Ui.Hosting;

namespace JumpingVpn.Tests.Ui;

/// <summary>
/// A real UI server on 127.0.0.1 (free port) with the given modules, and an HttpClient signed in the way a browser
/// is: it follows a one-time sign-in link and keeps the cookie. State-changing calls carry the same-origin
/// Origin header a browser's fetch sends (docs/ui.md "Security").
/// </summary>
internal sealed class UiTestClient : IAsyncDisposable
{
    private UiTestClient(UiHost host, HttpClient http)
    {
        Host = host;
        Http = http;
    }

    public UiHost Host { get; }

    /// <summary>Signed in; base address is the UI's; sends <c>Origin: http://127.0.0.1:port</c>.</summary>
    public HttpClient Http { get; }

    public static async Task<UiTestClient> StartAsync(params IUiModule[] modules)
    {
        UiHost host = await UiHost.StartAsync(new UiHostOptions(), modules, CancellationToken.None);
        var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        var http = new HttpClient(handler) { BaseAddress = host.BaseAddress };
        using HttpResponseMessage signIn = await http.GetAsync(host.IssueSignInUrl());
        if (signIn.StatusCode != HttpStatusCode.SeeOther)
        {
            throw new InvalidOperationException("sign-in link answered " + signIn.StatusCode);
        }
        http.DefaultRequestHeaders.Add("Origin", "http://127.0.0.1:" + host.Port);
        return new UiTestClient(host, http);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }
}
