using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Cli;

/// <summary>The hidden `jvpn service run CONFIG` entry point that the Windows service runs.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServiceCommandTests
{
    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    [Fact]
    public void Service_is_hidden_from_the_top_level_help_but_has_its_own()
    {
        CommandResult top = Jvpn("--help");
        Assert.Equal(0, top.ExitCode);
        Assert.DoesNotContain("service", top.StandardOutput, StringComparison.Ordinal);

        CommandResult help = Jvpn("service", "run", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("CONFIG", help.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_config_fails_before_hosting_with_exit_code_3_and_one_line()
    {
        string dir = Directory.CreateTempSubdirectory("jvsvc").FullName;
        string path = Path.Combine(dir, "jvsvc0.conf");
        File.WriteAllText(path, "[Interface]\nPrivateKey = nope\n");

        CommandResult r = Jvpn("service", "run", path);

        Assert.Equal(3, r.ExitCode);
        Assert.Contains($"{path}:2: PrivateKey:", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public void A_missing_argument_is_a_usage_error()
    {
        CommandResult r = Jvpn("service", "run");
        Assert.Equal(2, r.ExitCode);
    }

    [Fact]
    public void Remove_driver_says_it_is_windows_only_elsewhere()
    {
        CommandResult r = Jvpn("service", "remove-driver");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("jvpn service remove-driver: the Wintun driver exists only on Windows", r.StandardError.Trim());
    }
}
