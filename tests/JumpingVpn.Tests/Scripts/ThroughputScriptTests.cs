using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Scripts;

/// <summary>
/// bench/throughput.sh's own interface (docs/performance.md "How to reproduce"): --help names what it
/// measures, and every argument mistake is one line with exit code 2 (a missing anchor binary: exit 1 and
/// the variable that fixes it), all before it needs root or touches a namespace.
/// </summary>
public sealed class ThroughputScriptTests
{
    private static string Script => Path.Combine(RepositoryRoot.Find(), "bench", "throughput.sh");

    private static CommandResult Run(IEnumerable<string> environment, params string[] arguments) =>
        Command.TryRun(Binaries.Find("env"), [.. environment, Binaries.Find("bash"), Script, .. arguments]);

    [Fact]
    public void Help_names_the_anchor_and_every_measurement()
    {
        CommandResult r = Run([], "--help");
        Assert.True(r.ExitCode == 0, r.StandardError);
        foreach (string expected in new[] { "wireguard-go-anchor", "WIREGUARD_GO", "UDP GSO", "UDP_SEGMENT", "RTT loaded", "idle RSS", "start-up", "--json" })
        {
            Assert.Contains(expected, r.StandardOutput, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("set -euo", r.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "--bogus", "unknown argument: --bogus")]
    [InlineData("", "--json", "--json needs a file name")]
    [InlineData("IMPLS=jvpn tailscale", "", "unknown impl in IMPLS: tailscale")]
    [InlineData("DURATION=ten", "", "DURATION must be a positive whole number")]
    [InlineData("REPEATS=0", "", "REPEATS must be a positive whole number")]
    [InlineData("GSO_SEGMENT=1400", "", "GSO_SEGMENT 1400 does not fit the tunnels' MTU")]
    public void An_argument_mistake_is_one_line_and_exit_code_2(string environment, string argument, string expected)
    {
        CommandResult r = Run(environment.Length == 0 ? [] : [environment], argument.Length == 0 ? [] : [argument]);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StandardError}{r.StandardOutput}");
        string error = r.StandardError.Trim();
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Empty(r.StandardOutput);
    }

    [Fact]
    public void A_missing_anchor_is_named_with_the_variable_that_fixes_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), "jvpn-no-such-anchor-" + NetNs.RandomHex(3));
        CommandResult r = Run(["IMPLS=wireguard-go-anchor jvpn", "WIREGUARD_GO=" + missing]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.StandardError}{r.StandardOutput}");
        string error = r.StandardError.Trim();
        Assert.Contains(missing, error, StringComparison.Ordinal);
        Assert.Contains("set WIREGUARD_GO=", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }
}
