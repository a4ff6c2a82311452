using System.Diagnostics;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>OwnerUp/OwnerDown run as argv from a template split once; store values never become code or extra words.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OwnerRouteHooksTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jvhooks-").FullName;
    private static readonly string Session = SessionId.Read([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).ToString();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("/sbin/ip route replace %a via 10.0.0.1", new[] { "/sbin/ip", "route", "replace", "%a", "via", "10.0.0.1" })]
    [InlineData("/bin/sh -c 'echo \"$1\" >> /x' hook %a", new[] { "/bin/sh", "-c", "echo \"$1\" >> /x", "hook", "%a" })]
    [InlineData("  prog \"two words\" a\\ b ''  ", new[] { "prog", "two words", "a b", "" })]
    public void Templates_split_into_words_once(string template, string[] words)
    {
        Assert.Equal(words, OwnerRouteHooks.ParseTemplate(template, "OwnerUp"));
    }

    [Theory]
    [InlineData("prog 'open")]
    [InlineData("%a up")]
    [InlineData("   ")]
    public void Bad_templates_are_config_errors(string template)
    {
        Assert.Throws<ConfigException>(() => OwnerRouteHooks.ParseTemplate(template, "OwnerUp"));
    }

    [Theory]
    [InlineData("10.77.0.2/32;touch {0}")]
    [InlineData("$(touch {0})")]
    [InlineData("10.77.0.2/32`touch {0}`")]
    [InlineData("10.77.0.2/32\ntouch {0}")]
    [InlineData("10.77.0.2/32 && touch {0}")]
    public void Inner_addresses_with_shell_metacharacters_run_no_command(string innerTemplate)
    {
        Requirements.EnsureTools("sh");
        string marker = Path.Combine(_dir, "owned");
        string log = Path.Combine(_dir, "log");
        string inner = string.Format(System.Globalization.CultureInfo.InvariantCulture, innerTemplate, marker);
        var hooks = new OwnerRouteHooks($"/bin/echo %a", null, "jv0", "node-a", NullLogger.Instance);
        hooks.Up(Session, inner);
        hooks.Dispose();
        Assert.False(File.Exists(marker), "a store value ran as a command");
        Assert.Equal(1, hooks.ValuesRefused);
        Assert.Equal(0, hooks.CommandsRun);
        Assert.False(File.Exists(log));
    }

    [Fact]
    public void The_worker_pays_the_first_process_start_with_a_warm_up_that_is_not_counted_as_a_hook()
    {
        Requirements.EnsureTools("sh");
        string log = Path.Combine(_dir, "log");
        var hooks = new OwnerRouteHooks($"/bin/sh -c 'echo \"$1\" >> {log}' hook %a", null, "jv0", "node-a", NullLogger.Instance);
        Assert.True(hooks.WarmedUp.WaitOne(TimeSpan.FromSeconds(10)), "no warm-up");
        Assert.True(hooks.WarmUpMs >= 0, "the warm-up process did not run");
        Assert.Equal(0, hooks.CommandsRun);
        Assert.False(File.Exists(log));
        hooks.Up(Session, "10.77.0.2/32");
        hooks.Dispose();
        Assert.Equal(1, hooks.CommandsRun);
        Assert.Equal("10.77.0.2/32\n", File.ReadAllText(log));
    }

    [Fact]
    public void Without_hooks_no_warm_up_process_starts()
    {
        using var hooks = new OwnerRouteHooks(null, null, "jv0", "node-a", NullLogger.Instance);
        Assert.True(hooks.WarmedUp.WaitOne(TimeSpan.FromSeconds(10)));
        Assert.Equal(-1, hooks.WarmUpMs);
    }

    [Fact]
    public void Each_inner_prefix_is_one_argument_and_the_command_runs_once_per_prefix()
    {
        Requirements.EnsureTools("sh");
        string log = Path.Combine(_dir, "log");
        // An operator who wants a shell names it as the program; values arrive as its arguments, not code.
        var hooks = new OwnerRouteHooks($"/bin/sh -c 'printf \"%%s|%%s|%%s|%%s\\n\" \"$1\" \"$2\" \"$3\" \"$#\" >> {log}' hook %a %s-%n %i", null, "jv0", "node-a", NullLogger.Instance);
        hooks.Up(Session, "10.77.0.2/32,fd00::2/128");
        hooks.Dispose();
        Assert.Equal(2, hooks.CommandsRun);
        Assert.Equal(0, hooks.CommandsFailed);
        Assert.Equal(
            [$"10.77.0.2/32|{Session}-node-a|jv0|3", $"fd00::2/128|{Session}-node-a|jv0|3"],
            File.ReadAllLines(log));
    }

    [Fact]
    public void A_hook_that_leaves_a_child_holding_its_output_ends_within_the_timeout()
    {
        Requirements.EnsureTools("sh", "sleep");
        var hooks = new OwnerRouteHooks("/bin/sh -c 'sleep 30 & echo hi' hook %a", "/bin/sh -c 'sleep 30; echo never' hook %a", "jv0", "node-a", NullLogger.Instance,
            timeout: TimeSpan.FromSeconds(2));
        var sw = Stopwatch.StartNew();
        hooks.Up(Session, "10.77.0.2/32");
        hooks.Down(Session, "10.77.0.2/32");
        hooks.Dispose();
        sw.Stop();
        // Each command is bounded by the 2 s hook timeout: Up returns once sh exited (its background child
        // keeps the pipe, jvpn does not wait for it), Down is killed at the bound. Before the fix Up alone
        // waited the child's full 30 s. Margin: 2 s for a machine busy with other tests.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2 + 2 + 2), $"took {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(2, hooks.CommandsRun);
        Assert.Equal(1, hooks.CommandsFailed);
    }
}
