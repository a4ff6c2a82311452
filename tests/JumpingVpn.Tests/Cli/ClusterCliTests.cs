using JumpingVpn.Control.Cluster;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Cli;

/// <summary>`jvpn cluster status` and `jvpn up --store`: clear one-line errors with documented exit codes, and the status of a live store.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClusterCliTests
{
    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    /// <summary>jvpn with the store password in its environment (as `jvpn cluster` finds it without a config).</summary>
    private static CommandResult JvpnWithPassword(string password, params string[] args) =>
        Command.TryRun(Binaries.Find("env"), [StoreAccess.PasswordVariable + "=" + password, "dotnet", Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    [Fact]
    public void Cluster_status_needs_a_store_and_refuses_bad_urls()
    {
        CommandResult none = Jvpn("cluster", "status");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("--store", none.StandardError, StringComparison.Ordinal);

        CommandResult creds = Jvpn("cluster", "status", "--store", "redis://user:secret@10.0.0.5");
        Assert.Equal(3, creds.ExitCode);
        Assert.Contains("StorePasswordFile", creds.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", creds.StandardError, StringComparison.Ordinal);
        Assert.Single(creds.StandardError.Trim().Split('\n'));

        CommandResult down = Jvpn("cluster", "status", "--store", "redis://127.0.0.1:1/0?timeout=200ms");
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("unreachable", down.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Up_with_a_bad_store_url_fails_before_touching_the_system_with_exit_code_3()
    {
        string dir = Directory.CreateTempSubdirectory("jvcli").FullName;
        string path = Path.Combine(dir, "jvst0.conf");
        File.WriteAllText(path, "[Interface]\nPrivateKey = " + Convert.ToBase64String(new byte[32]) + "\nListenPort = 51999\n");
        CommandResult r = Jvpn("up", path, "--store", "http://nowhere");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("--store", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Cluster_status_of_an_empty_live_store_reports_it_up_with_no_nodes()
    {
        Requirements.EnsureTools("redis-server");
        using RedisServer redis = RedisServer.StartNew();
        CommandResult text = JvpnWithPassword(redis.Password, "cluster", "status", "--store", redis.Url("cli"));
        Assert.True(text.ExitCode == 0, text.StandardError);
        Assert.Contains("(up,", text.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("nodes: 0", text.StandardOutput, StringComparison.Ordinal);
        CommandResult json = JvpnWithPassword(redis.Password, "cluster", "status", "--store", redis.Url("cli"), "--json");
        Assert.Contains("\"store_up\": true", json.StandardOutput, StringComparison.Ordinal);
    }
}
