using JumpingVpn.Tests.Infrastructure;
using Microsoft.Playwright;

namespace JumpingVpn.Tests.Browser;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright (docs/ui.md "Tests"): never a downloaded browser. Inside a
/// network namespace the browser runs there too (through a small wrapper that execs it with <c>ip netns exec</c>),
/// because the manager's UI listens on that namespace's loopback. Screenshots go to <see cref="ArtifactsDirectory"/>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class UiBrowser : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly string? _wrapper;

    private UiBrowser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, string? wrapper)
    {
        _playwright = playwright;
        Browser = browser;
        Context = context;
        Page = page;
        _wrapper = wrapper;
    }

    public IBrowser Browser { get; }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>bin/&lt;configuration&gt;/net10.0/artifacts/ui: CI collects the screenshots from here.</summary>
    public static string ArtifactsDirectory => Path.Combine(AppContext.BaseDirectory, "artifacts", "ui");

    /// <summary>Skips (fails under CI=true) when Chromium or Playwright's driver is missing.</summary>
    public static void EnsureAvailable()
    {
        Requirements.EnsureTools("chromium");
        if (!Directory.Exists(Path.Combine(AppContext.BaseDirectory, ".playwright")))
        {
            string message = "needs Playwright's driver (.playwright next to the test assembly, from the Microsoft.Playwright package)";
            if (Requirements.IsCi)
            {
                throw new InvalidOperationException(message + " (CI=true: failing instead of skipping)");
            }
            Assert.Skip(message);
        }
    }

    /// <summary>A headless Chromium with one page, signed in to <paramref name="manager"/> when given.</summary>
    public static async Task<UiBrowser> StartAsync(ManagerUnderTest? manager = null, bool signIn = true, IReadOnlyList<string>? extraArgs = null)
    {
        EnsureAvailable();
        string? wrapper = null;
        string executable = Chromium;
        if (manager?.Netns is string netns)
        {
            wrapper = Path.Combine(manager.Root, "chromium-in-netns");
            await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec {Binaries.Find("ip")} netns exec {netns} {Chromium} \"$@\"\n");
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            executable = wrapper;
        }
        IPlaywright playwright = await Playwright.CreateAsync();
        try
        {
            IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                // Root (CI, the namespace tests) cannot use Chromium's user-namespace sandbox.
                ChromiumSandbox = false,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", .. extraArgs ?? []],
            });
            IBrowserContext context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
                AcceptDownloads = true,
            });
            IPage page = await context.NewPageAsync();
            page.SetDefaultTimeout(15_000);
            var ui = new UiBrowser(playwright, browser, context, page, wrapper);
            if (manager is not null && signIn)
            {
                IResponse? response = await page.GotoAsync(manager.SignInLink().AbsoluteUri);
                Assert.True(response is { Ok: true }, $"sign-in answered {response?.Status}");
                Assert.Equal(manager.BaseAddress.AbsoluteUri, page.Url);
            }
            return ui;
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A second, separate browser profile (no cookies) in the same browser.</summary>
    public async Task<IPage> NewProfilePageAsync()
    {
        IBrowserContext other = await Browser.NewContextAsync();
        return await other.NewPageAsync();
    }

    /// <summary>A full-page screenshot <paramref name="name"/>.png under <see cref="ArtifactsDirectory"/>; returns its path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ArtifactsDirectory);
        string path = Path.Combine(ArtifactsDirectory, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        await Browser.CloseAsync();
        _playwright.Dispose();
    }
}
