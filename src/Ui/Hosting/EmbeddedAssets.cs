using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Hosting;

/// <summary>
/// The pages, scripts and styles embedded in this assembly under <c>wwwroot/</c> (bundled at build, uPlot included:
/// docs/ui.md "Assets"), served by path; <c>/</c> is <c>index.html</c>. The parts every page shares (the head's
/// common links, the navigation header) are written once as <c>*.part.html</c> and put into each page where it says
/// <c>&lt;!-- include PATH --&gt;</c>, once when the assets are loaded: the pages stay plain files without inline
/// script, so the strict Content-Security-Policy holds, and the header is there before any script runs.
/// </summary>
internal sealed partial class EmbeddedAssets
{
    private const string Prefix = "wwwroot/";
    private const string PartSuffix = ".part.html";
    private readonly Dictionary<string, string> _resourceByPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _pages = new(StringComparer.Ordinal);
    private readonly Assembly _assembly = typeof(EmbeddedAssets).Assembly;

    public EmbeddedAssets()
    {
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in _assembly.GetManifestResourceNames())
        {
            string normalized = name.Replace('\\', '/');
            if (!normalized.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            string path = normalized[Prefix.Length..];
            if (path.EndsWith(PartSuffix, StringComparison.Ordinal))
            {
                parts[path] = Read(name);
            }
            else
            {
                _resourceByPath["/" + path] = name;
            }
        }
        foreach ((string path, string resource) in _resourceByPath)
        {
            if (path.EndsWith(".html", StringComparison.Ordinal))
            {
                _pages[path] = Encoding.UTF8.GetBytes(Expand(path, Read(resource), parts));
            }
        }
    }

    /// <summary>The request paths served, e.g. <c>/index.html</c> (parts are not among them).</summary>
    public IEnumerable<string> Paths => _resourceByPath.Keys;

    [GeneratedRegex(@"^[ \t]*<!-- include (?<part>[a-z0-9/_.-]+) -->\r?\n", RegexOptions.Multiline)]
    private static partial Regex Include();

    /// <summary>The page with every include replaced by its part; an include naming no part is a build defect and throws.</summary>
    internal static string Expand(string page, string html, IReadOnlyDictionary<string, string> parts) =>
        Include().Replace(html, m => parts.TryGetValue(m.Groups["part"].Value, out string? part)
            ? part
            : throw new InvalidOperationException($"{page} includes {m.Groups["part"].Value}, which is not an embedded part"));

    private string Read(string resource)
    {
        using Stream stream = _assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException("missing resource " + resource);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    public async Task<bool> TryServeAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "/";
        if (path == "/")
        {
            path = "/index.html";
        }
        if (_pages.TryGetValue(path, out byte[]? page))
        {
            context.Response.ContentType = ContentType(path);
            context.Response.ContentLength = page.Length;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.Body.WriteAsync(page, context.RequestAborted);
            }
            return true;
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
