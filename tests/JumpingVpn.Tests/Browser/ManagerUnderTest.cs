using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Browser;

/// <summary>
/// A real <c>jvpn manager</c> (the built jvpn.dll) with its config, state and socket in a temporary directory, the UI
/// on a free port of 127.0.0.1, optionally inside a network namespace (then its tunnels run there and so must the
/// browser: docs/ui.md "Tests"). Dispose stops it with SIGTERM (it stops its tunnels) and removes the directory.
/// </summary>
internal sealed partial class ManagerUnderTest : IDisposable
{
    private ManagerUnderTest(string root, ManagedProcess process, int port, string? netns)
    {
        Root = root;
        Process = process;
        Port = port;
        Netns = netns;
    }

    public string Root { get; }

    public string ConfigDirectory => Path.Combine(Root, "etc");

    public string StateDirectory => Path.Combine(Root, "state");

    public string SocketPath => Path.Combine(Root, "run", "manager.sock");

    public ManagedProcess Process { get; }

    public int Port { get; }

    public string? Netns { get; }

    public Uri BaseAddress => new("http://127.0.0.1:" + Port + "/");

    [GeneratedRegex(@"UI at http://127\.0\.0\.1:(\d+)/")]
    private static partial Regex UiLine();

    public static ManagerUnderTest Start(NetNs? netns = null, Action<string>? prepareConfigDirectory = null)
    {
        string root = Directory.CreateTempSubdirectory("jvmgr").FullName;
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        prepareConfigDirectory?.Invoke(Path.Combine(root, "etc"));
        string[] arguments =
        [
            Binaries.JvpnDll, "manager", "--config-dir", Path.Combine(root, "etc"), "--state-dir", Path.Combine(root, "state"),
            "--ui-port", "0", "--socket", Path.Combine(root, "run", "manager.sock"),
        ];
        ManagedProcess process = netns is null ? ManagedProcess.Start(Binaries.Dotnet(), arguments) : netns.Start(Binaries.Dotnet(), arguments);
        try
        {
            process.WaitForOutput("UI at ", TimeSpan.FromSeconds(20), "jvpn manager");
            int port = int.Parse(UiLine().Match(process.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return new ManagerUnderTest(root, process, port, netns?.Name);
        }
        catch
        {
            process.Dispose();
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    /// <summary>A fresh one-time sign-in link from <c>jvpn ui --print</c> against this manager's socket.</summary>
    public Uri SignInLink()
    {
        CommandResult r = RunUi("--print");
        Assert.True(r.ExitCode == 0, $"jvpn ui --print: exit {r.ExitCode}: {r.StandardError}\n{Process.Describe()}");
        return new Uri(r.StandardOutput.Trim());
    }

    /// <summary>Runs <c>jvpn ui ARGS --socket PATH</c> (the socket is a file: reachable from any namespace).</summary>
    public CommandResult RunUi(params string[] arguments) =>
        Command.TryRun(Binaries.Dotnet(), [Binaries.JvpnDll, "ui", .. arguments, "--socket", SocketPath], TimeSpan.FromSeconds(20));

    public void Dispose()
    {
        Process.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A tunnel child that outlived the manager's stop keeps a file open; the temp directory is left.
        }
    }
}
