using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Security;

/// <summary>
/// The one gate every request passes (docs/ui.md "Security"), in this order:
/// a Host header other than the loopback name and port is refused (403: DNS rebinding);
/// the sign-in link <c>/auth?token=</c> is exchanged for the session cookie and redirected to a clean URL;
/// a state-changing request whose Origin is not this very origin is refused (403: CSRF);
/// anything else without a valid session cookie is refused (401).
/// Every response carries a strict Content-Security-Policy and no-referrer, no-store headers.
/// </summary>
internal sealed class RequestGuard(UiSessions sessions, OneTimeTokens tokens, Func<int> port)
{
    /// <summary>Scripts, styles, images and fetches from this origin only; nothing inline, no frames.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        HttpResponse response = context.Response;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-store";

        HttpRequest request = context.Request;
        if (!IsLoopbackHost(request.Host))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden,
                "This UI answers only at http://127.0.0.1:" + port() + "/ (the Host header names another site).");
            return;
        }

        if (request.Path.Equals("/auth", StringComparison.Ordinal))
        {
            await SignInAsync(context);
            return;
        }

        if (!IsSafeMethod(request.Method) && !IsSameOrigin(request))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden,
                "A change must come from this UI's own pages (the request's Origin is missing or another site).");
            return;
        }

        if (!sessions.IsValid(request.Cookies[UiSessions.CookieName]))
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized,
                "Not signed in: run `jvpn ui` to open the UI with a fresh sign-in link.");
            return;
        }

        await next(context);
    }

    private bool IsLoopbackHost(HostString host)
    {
        if (!host.HasValue || host.Port != port())
        {
            return false;
        }
        return host.Host is "127.0.0.1" or "localhost";
    }

    private static bool IsSafeMethod(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    private static bool IsSameOrigin(HttpRequest request)
    {
        string origin = request.Headers.Origin.ToString();
        return origin.Length > 0 && string.Equals(origin, "http://" + request.Host.Value, StringComparison.Ordinal);
    }

    private async Task SignInAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) || !tokens.TryRedeem(context.Request.Query["token"]))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden,
                "This sign-in link is used up or expired: run `jvpn ui` again for a new one.");
            return;
        }
        context.Response.Cookies.Append(UiSessions.CookieName, sessions.Open(), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            MaxAge = sessions.Lifetime,
            IsEssential = true,
        });
        // 303 to a clean URL at once, so the token is in no history entry, Referer or later log line.
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = "/";
    }

    private static async Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        if (context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await context.Response.WriteAsJsonAsync(new UiError(message));
            return;
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message);
    }
}

/// <summary>The JSON body of every refused or failed API call.</summary>
public sealed record UiError(string Error);
