using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Hosting;

/// <summary>
/// The pages, scripts and styles embedded in this assembly under <c>wwwroot/</c> (bundled at build, uPlot included:
/// docs/ui.md "Assets"), served by path; <c>/</c> is <c>index.html</c>.
/// </summary>
internal sealed class EmbeddedAssets
{
    private const string Prefix = "wwwroot/";
    private readonly Dictionary<string, string> _resourceByPath = new(StringComparer.Ordinal);
    private readonly Assembly _assembly = typeof(EmbeddedAssets).Assembly;

    public EmbeddedAssets()
    {
        foreach (string name in _assembly.GetManifestResourceNames())
        {
            string normalized = name.Replace('\\', '/');
            if (normalized.StartsWith(Prefix, StringComparison.Ordinal))
            {
                _resourceByPath["/" + normalized[Prefix.Length..]] = name;
            }
        }
    }

    /// <summary>The request paths served, e.g. <c>/index.html</c>.</summary>
    public IEnumerable<string> Paths => _resourceByPath.Keys;

    public async Task<bool> TryServeAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "/";
        if (path == "/")
        {
            path = "/index.html";
        }
        if (!_resourceByPath.TryGetValue(path, out string? resource))
        {
            return false;
        }
        await using Stream? stream = _assembly.GetManifestResourceStream(resource);
        if (stream is null)
        {
            return false;
        }
        context.Response.ContentType = ContentType(path);
        context.Response.ContentLength = stream.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
        return true;
    }

    private static string ContentType(string path) => Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
