using JumpingVpn.Tests.Browser;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Ui.Manager;

/// <summary>
/// `jvpn ui` and `jvpn manager` from the command line (docs/ui.md "Signing in"): the link, and one clear line with
/// the fix when the manager is not running, when the user may not sign in, or when a second manager starts.
/// </summary>
[Collection(BrowserCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ManagerCliTests
{
    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun(Binaries.Dotnet(), [Binaries.JvpnDll, .. args], TimeSpan.FromSeconds(20));

    private static void AssertOneLine(CommandResult r)
    {
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public void Ui_without_a_manager_says_how_to_start_it()
    {
        string socket = Path.Combine(Path.GetTempPath(), "jvnone-" + NetNs.RandomHex(4) + ".sock");

        CommandResult r = Jvpn("ui", "--print", "--socket", socket);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("the jvpn manager is not running", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("sudo systemctl start jvpn-manager", r.StandardError, StringComparison.Ordinal);
        AssertOneLine(r);
    }

    [Fact]
    public void Ui_prints_a_one_time_link_for_root()
    {
        Requirements.Ensure("jvpn");
        using ManagerUnderTest manager = ManagerUnderTest.Start();

        Uri first = manager.SignInLink();
        Uri second = manager.SignInLink();

        Assert.Equal(manager.BaseAddress.AbsoluteUri + "auth", first.GetLeftPart(UriPartial.Path));
        Assert.NotEqual(first, second);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(manager.SocketPath)); // no group jvpn here: root only
    }

    [Fact]
    public void User_outside_group_jvpn_is_refused_by_the_socket_mode_and_by_the_peer_check()
    {
        Requirements.Ensure("jvpn", "setpriv");
        using ManagerUnderTest manager = ManagerUnderTest.Start();
        string[] asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", Binaries.Dotnet(), Binaries.JvpnDll, "ui", "--print", "--socket", manager.SocketPath];

        // The socket file's mode keeps the user out.
        File.SetUnixFileMode(manager.Root, (UnixFileMode)0x1ED); // 0755: the directory is open, the socket is not
        File.SetUnixFileMode(Path.GetDirectoryName(manager.SocketPath)!, (UnixFileMode)0x1ED);
        CommandResult byMode = Command.TryRun("setpriv", asNobody, TimeSpan.FromSeconds(20));
        Assert.Equal(4, byMode.ExitCode);
        Assert.Contains("group jvpn", byMode.StandardError, StringComparison.Ordinal);
        Assert.Contains("log out and in", byMode.StandardError, StringComparison.Ordinal);
        AssertOneLine(byMode);

        // Opened up by hand, the socket still answers only root and group jvpn: the kernel says who is asking.
        File.SetUnixFileMode(manager.SocketPath, (UnixFileMode)0x1B6); // 0666
        CommandResult byPeer = Command.TryRun("setpriv", asNobody, TimeSpan.FromSeconds(20));
        Assert.Equal(4, byPeer.ExitCode);
        Assert.Contains("user 65534 may not use the jvpn UI", byPeer.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("token", byPeer.StandardOutput + byPeer.StandardError, StringComparison.Ordinal);
        AssertOneLine(byPeer);
    }

    [Fact]
    public void Second_manager_on_the_same_socket_is_refused_and_the_first_keeps_serving()
    {
        Requirements.Ensure("jvpn");
        using ManagerUnderTest manager = ManagerUnderTest.Start();

        CommandResult second = Jvpn("manager", "--config-dir", manager.ConfigDirectory, "--state-dir", manager.StateDirectory, "--ui-port", "0", "--socket", manager.SocketPath);

        Assert.Equal(1, second.ExitCode);
        Assert.Contains("another jvpn manager is running", second.StandardError, StringComparison.Ordinal);
        AssertOneLine(second);
        _ = manager.SignInLink();
    }
}
