using JumpingVpn.Tests.Browser;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Manager;

namespace JumpingVpn.Tests.Ui.Manager;

/// <summary>
/// The manager's life cycle of a tunnel with a stand-in for <c>jvpn up</c> (a shell loop that marks itself running
/// and leaves on SIGTERM): Starting, Active when the control endpoint exists, Inactive after a stop, Failed when it
/// dies on its own, killed after the stop timeout, start at boot, and the refusals (bad name, bad config, delete
/// while active) (docs/ui.md "The manager").
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TunnelManagerTests : IDisposable
{
    private const string Orderly = "echo \"starting $1\"; touch \"$1.running\"; trap 'echo stopping; rm -f \"$1.running\"; exit 0' TERM; while :; do sleep 0.05; done";

    private readonly string _root = Directory.CreateTempSubdirectory("jvtm").FullName;

    private string ConfigDir => Path.Combine(_root, "etc");

    private ManagerOptions Options(string script, TimeSpan? stopTimeout = null) => new()
    {
        ConfigDirectory = ConfigDir,
        StateDirectory = Path.Combine(_root, "state"),
        Child = new ChildCommand("/bin/sh", ["-c", script]),
        InterfaceRunning = name => File.Exists(Path.Combine(ConfigDir, name + ".conf.running")),
        StopTimeout = stopTimeout ?? TimeSpan.FromSeconds(5),
    };

    private static void WaitFor(Func<bool> condition, string what)
    {
        for (int i = 0; i < 200; i++)
        {
            if (condition())
            {
                return;
            }
            Thread.Sleep(25);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    private static TunnelState StateOf(TunnelManager m, string name) => m.Tunnels().Single(t => t.Name == name).State;

    [Fact]
    public async Task Activate_runs_the_child_until_deactivate_and_keeps_its_output()
    {
        await using TunnelManager manager = TunnelManager.Start(Options(Orderly));
        manager.Save("home", SampleConfigs.Client(), create: true);

        manager.Activate("home");
        WaitFor(() => StateOf(manager, "home") == TunnelState.Active, "Active");
        Assert.Contains("home", await File.ReadAllTextAsync(Path.Combine(_root, "state", "manager-state.json"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
        await manager.DeactivateAsync("home");

        Assert.Equal(TunnelState.Inactive, StateOf(manager, "home"));
        IReadOnlyList<TunnelLogLine> log = manager.Log("home", 100);
        Assert.Contains(log, l => l.Text == "starting " + Path.Combine(ConfigDir, "home.conf"));
        Assert.Contains(log, l => l.Text == "stopping");
        Assert.Contains(log, l => l.Text.Contains("exited with code 0", StringComparison.Ordinal));
        Assert.DoesNotContain("home", await File.ReadAllTextAsync(Path.Combine(_root, "state", "manager-state.json"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Child_that_dies_on_its_own_is_failed_and_not_restarted()
    {
        await using TunnelManager manager = TunnelManager.Start(Options("echo \"cannot create the interface\" >&2; exit 5"));
        manager.Save("home", SampleConfigs.Client(), create: true);

        manager.Activate("home");
        WaitFor(() => StateOf(manager, "home") == TunnelState.Failed, "Failed");
        Thread.Sleep(300);

        ManagedTunnel t = manager.Tunnels().Single();
        Assert.Equal(TunnelState.Failed, t.State);
        Assert.Contains("code 5", t.Problem, StringComparison.Ordinal);
        Assert.Equal(1, manager.Log("home", 100).Count(l => l.Text.StartsWith("[manager] started", StringComparison.Ordinal)));
        Assert.Contains(manager.Log("home", 100), l => l.Text == "cannot create the interface");
    }

    [Fact]
    public async Task Child_that_ignores_sigterm_is_killed_after_the_stop_timeout()
    {
        await using TunnelManager manager = TunnelManager.Start(Options("trap '' TERM; touch \"$1.running\"; while :; do sleep 0.05; done", TimeSpan.FromMilliseconds(500)));
        manager.Save("home", SampleConfigs.Client(), create: true);
        manager.Activate("home");
        WaitFor(() => StateOf(manager, "home") == TunnelState.Active, "Active");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await manager.DeactivateAsync("home");

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        Assert.Equal(TunnelState.Inactive, StateOf(manager, "home"));
        Assert.Contains(manager.Log("home", 100), l => l.Text.Contains("killing it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_at_boot_tunnels_start_with_the_manager_and_others_do_not()
    {
        await using (TunnelManager first = TunnelManager.Start(Options(Orderly)))
        {
            first.Save("home", SampleConfigs.Client(), create: true);
            first.Save("office", SampleConfigs.Client(), create: true);
            first.SetStartAtBoot("office", on: true);
            first.Activate("home");
            WaitFor(() => StateOf(first, "home") == TunnelState.Active, "Active");
        }

        await using TunnelManager second = TunnelManager.Start(Options(Orderly));

        WaitFor(() => StateOf(second, "office") == TunnelState.Active, "office started at boot");
        Assert.Equal(TunnelState.Inactive, StateOf(second, "home"));
        Assert.True(second.Tunnels().Single(t => t.Name == "office").StartAtBoot);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    [InlineData("wg 0")]
    public async Task Names_outside_the_interface_rules_are_refused(string name)
    {
        await using TunnelManager manager = TunnelManager.Start(Options(Orderly));

        ManagerException e = Assert.Throws<ManagerException>(() => manager.Save(name, SampleConfigs.Client(), create: true));

        Assert.Contains("not a valid tunnel name", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(ConfigDir) ? Directory.GetFiles(ConfigDir) : []);
        Assert.Empty(Directory.GetFiles(_root));
    }

    [Fact]
    public async Task Bad_config_is_refused_with_its_line_and_key_and_nothing_is_written()
    {
        await using TunnelManager manager = TunnelManager.Start(Options(Orderly));
        string bad = SampleConfigs.Client().Replace("AllowedIPs = 10.66.0.0/24", "AllowedIPs = 10.66.0.0/33", StringComparison.Ordinal);

        ManagerException e = Assert.Throws<ManagerException>(() => manager.Save("home", bad, create: true));

        Assert.Equal((8, "AllowedIPs"), (e.Problem?.Line, e.Problem?.Key));
        Assert.False(File.Exists(Path.Combine(ConfigDir, "home.conf")));
    }

    [Fact]
    public async Task Active_tunnel_cannot_be_deleted_and_an_existing_name_cannot_be_created_again()
    {
        await using TunnelManager manager = TunnelManager.Start(Options(Orderly));
        manager.Save("home", SampleConfigs.Client(), create: true);
        manager.Activate("home");

        Assert.Contains("deactivate it", Assert.Throws<ManagerException>(() => manager.Delete("home")).Message, StringComparison.Ordinal);
        Assert.Contains("exists already", Assert.Throws<ManagerException>(() => manager.Save("home", SampleConfigs.Client(), create: true)).Message, StringComparison.Ordinal);
        await manager.DeactivateAsync("home");
        manager.Delete("home");
        Assert.Empty(manager.Tunnels());
    }

    [Fact]
    public void Saved_config_is_private_to_its_owner()
    {
        var configs = new ConfigDirectory(ConfigDir);

        configs.Write("home", "text");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(ConfigDir, "home.conf")));
        Assert.Equal(["home.conf"], Directory.GetFiles(ConfigDir).Select(Path.GetFileName));
    }

    [Fact]
    public void Damaged_state_file_is_named_with_the_fix()
    {
        Directory.CreateDirectory(Path.Combine(_root, "state"));
        File.WriteAllText(Path.Combine(_root, "state", "manager-state.json"), "{ not json");

        IOException e = Assert.Throws<IOException>(() => new ManagerStateFile(Path.Combine(_root, "state")).Load());

        Assert.Contains("manager-state.json is damaged", e.Message, StringComparison.Ordinal);
        Assert.Contains("move it away", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
