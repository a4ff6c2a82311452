using System.Net;
using JumpingVpn.Ui.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Ui.Hosting;

/// <summary>
/// The local web UI server: Kestrel on 127.0.0.1 only, every request through <see cref="RequestGuard"/>, the
/// embedded pages and the modules' JSON endpoints (docs/ui.md). The process that owns it (the manager) hands
/// out sign-in links with <see cref="IssueSignInUrl"/>; nothing else grants access.
/// </summary>
public sealed class UiHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly OneTimeTokens _tokens;

    private readonly IReadOnlyList<IUiModule> _modules;

    private UiHost(WebApplication app, OneTimeTokens tokens, int port, IReadOnlyList<IUiModule> modules)
    {
        _app = app;
        _modules = modules;
        _tokens = tokens;
        Port = port;
    }

    /// <summary>The port Kestrel listens on (127.0.0.1 only).</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:{Port}/</c>.</summary>
    public Uri BaseAddress => new("http://127.0.0.1:" + Port + "/");

    /// <summary>Starts listening; throws <see cref="IOException"/> naming the port when it is taken.</summary>
    public static async Task<UiHost> StartAsync(UiHostOptions options, IReadOnlyList<IUiModule> modules, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(modules);
        // Pages are embedded (docs/ui.md "Layout"), so the content root is never read; pinning it to the program's
        // own directory keeps the manager starting when its working directory is gone or hidden (a service's
        // private /tmp, a deleted directory), which the default (the working directory) does not.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, options.Port);
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddLogging(l => l.ClearProviders());
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        WebApplication app = builder.Build();

        var tokens = new OneTimeTokens(options.Time, options.TokenLifetime);
        var sessions = new UiSessions(options.Time, options.SessionLifetime);
        int boundPort = 0;
        var guard = new RequestGuard(sessions, tokens, () => boundPort);
        var assets = new EmbeddedAssets();

        app.Use(guard.InvokeAsync);
        app.UseRouting();
        foreach (IUiModule module in modules)
        {
            module.Map(app);
        }
        app.MapPost("/api/session/signout", (HttpContext c) =>
        {
            sessions.Close(c.Request.Cookies[UiSessions.CookieName]);
            c.Response.Cookies.Delete(UiSessions.CookieName);
            return Results.NoContent();
        });
        // "{**path}", not the default fallback pattern, which skips paths that look like files (app.js).
        app.MapFallback("{**path}", async (HttpContext c) =>
        {
            if (!(HttpMethods.IsGet(c.Request.Method) || HttpMethods.IsHead(c.Request.Method)) || !await assets.TryServeAsync(c))
            {
                c.Response.StatusCode = StatusCodes.Status404NotFound;
            }
        });

        try
        {
            await app.StartAsync(cancel);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new IOException($"The UI cannot listen on 127.0.0.1:{options.Port}: {e.Message} (pick another port with --ui-port).", e);
        }
        IServerAddressesFeature? addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        string first = addresses?.Addresses.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no address");
        boundPort = new Uri(first).Port;
        return new UiHost(app, tokens, boundPort, modules);
    }

    /// <summary>The route pattern of every endpoint (the modules' and the host's own), for the routing rules' tests.</summary>
    internal IReadOnlyList<string> RoutePatterns
    {
        get
        {
            var patterns = new List<string>();
            foreach (EndpointDataSource source in ((IEndpointRouteBuilder)_app).DataSources)
            {
                foreach (Endpoint e in source.Endpoints)
                {
                    if (e is RouteEndpoint route && route.RoutePattern.RawText is string raw)
                    {
                        patterns.Add(raw);
                    }
                }
            }
            return patterns;
        }
    }

    /// <summary>A one-time sign-in link (docs/ui.md "Security"): valid once, for the token lifetime.</summary>
    public Uri IssueSignInUrl() => new(BaseAddress, "auth?token=" + _tokens.Issue());

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        // Modules that sample in the background (the timeline recorder) stop with the server.
        foreach (IUiModule module in _modules)
        {
            if (module is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else if (module is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }
}
