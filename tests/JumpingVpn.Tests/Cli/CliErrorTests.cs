using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Cli;

/// <summary>User mistakes give one line naming the problem and the fix, and a documented exit code.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CliErrorTests
{
    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    private static string WriteConfig(string name, string text)
    {
        string dir = Directory.CreateTempSubdirectory("jvcli").FullName;
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    [Fact]
    public void Bad_key_in_config_names_file_line_and_key_with_exit_code_3()
    {
        string path = WriteConfig("jvbad0.conf", "[Interface]\nPrivateKey = not-a-key\n");
        CommandResult r = Jvpn("up", path);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains($"{path}:2: PrivateKey:", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public void Bad_jumping_policy_names_the_key_and_the_rule_with_exit_code_3()
    {
        Requirements.Ensure("wg");
        string key = Command.TryRun("wg", ["genkey"]).StandardOutput.Trim();
        string path = WriteConfig("jvpol0.conf", $"[Interface]\nPrivateKey = {key}\n\n[Jumping]\nrecovery_window = 20s\ntransport_lost_ttl = 15s\n");
        CommandResult r = Jvpn("up", path);
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("recovery_window", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("transport_lost_ttl", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_command_is_a_usage_error_with_exit_code_2()
    {
        CommandResult r = Jvpn("frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("jvpn --help", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_of_a_missing_interface_exits_5_with_one_line()
    {
        CommandResult r = Jvpn("status", "jvnosuch0");
        Assert.Equal(5, r.ExitCode);
        Assert.Contains("jvnosuch0", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public void Pubkey_matches_wg_pubkey_byte_for_byte()
    {
        Requirements.Ensure("wg");
        for (int i = 0; i < 5; i++)
        {
            string priv = Command.TryRun("wg", ["genkey"]).StandardOutput;
            CommandResult ours = Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), "pubkey"], standardInput: priv);
            CommandResult theirs = Command.TryRun("wg", ["pubkey"], standardInput: priv);
            Assert.Equal(theirs.StandardOutput, ours.StandardOutput);
        }
    }

    [Fact]
    public void Every_command_has_help()
    {
        foreach (string cmd in new[] { "genkey", "pubkey", "genpsk", "up", "down", "status" })
        {
            CommandResult r = Jvpn(cmd, "--help");
            Assert.True(r.ExitCode == 0, $"{cmd} --help: {r.StandardError}");
            Assert.Contains("Usage:", r.StandardOutput, StringComparison.Ordinal);
        }
    }

    /// <summary>Runs `jvpn up` as the unprivileged user nobody (setpriv from util-linux) to check the privilege message.</summary>
    [Fact]
    public void Up_without_privileges_says_so_in_one_line_with_exit_code_4()
    {
        Requirements.Ensure("setpriv");
        string path = WriteConfig("jvnopriv0.conf", "[Interface]\nPrivateKey = " + Command.TryRun("wg", ["genkey"]).StandardOutput.Trim() + "\n");
        // Readable by nobody through its group, as the packaged unit reads root:jvpn 0640 (jvpn refuses world-readable configs).
        Command.Run("chown", ["0:65534", Path.GetDirectoryName(path)!, path]);
        File.SetUnixFileMode(Path.GetDirectoryName(path)!, (UnixFileMode)0x1E8); // 0750
        File.SetUnixFileMode(path, (UnixFileMode)0x1A0); // 0640
        string dotnet = Command.TryRun("sh", ["-c", "command -v dotnet"]).StandardOutput.Trim();
        CommandResult r = Command.TryRun("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", dotnet, Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), "up", path]);
        Assert.True(r.ExitCode == 4, $"exit {r.ExitCode}: {r.StandardError}");
        Assert.Contains("root or CAP_NET_ADMIN", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'), l => !l.StartsWith("Warning:", StringComparison.Ordinal));
    }

    /// <summary>A second `jvpn up` of a running interface is refused with the interface-state exit code, in one line.</summary>
    [Fact]
    public void Up_of_an_interface_that_is_already_running_exits_5_with_one_line()
    {
        Requirements.Ensure("jvpn");
        using NetNs ns = NetNs.Create("upagain");
        string key = Command.TryRun("wg", ["genkey"]).StandardOutput.Trim();
        using JvpnPeer first = JvpnPeer.Start(ns, new TunnelConfig(key, ["10.201.0.1/24"], []));
        CommandResult r = first.Run("up", first.ConfigPath);
        Assert.True(r.ExitCode == 5, $"exit {r.ExitCode}: {r.StandardError}");
        Assert.Contains("already", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'), l => !l.StartsWith("Warning:", StringComparison.Ordinal));
    }
}
