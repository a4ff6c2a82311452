using System.Diagnostics;
using JumpingVpn.Platform;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Platform;

/// <summary>The timeout of an external command covers the whole run, output included.</summary>
public sealed class ExternalCommandTests
{
    [Fact]
    public void A_command_whose_background_child_holds_stdout_returns_within_the_timeout_with_its_output()
    {
        Requirements.EnsureTools("sh", "sleep");
        var sw = Stopwatch.StartNew();
        ExternalCommand.Result r = ExternalCommand.Run("/bin/sh", ["-c", "sleep 30 & echo hi"], timeout: TimeSpan.FromSeconds(3));
        sw.Stop();
        // The bound is 3 s (the child sleeps 30 s); 2.5 s of margin for starting the process on a machine
        // busy with other tests (the bound runs from the start of the process).
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5.5), $"took {sw.Elapsed.TotalSeconds:0.0} s");
        Assert.True(r.Ok);
        Assert.Equal("hi\n", r.Output);
    }

    [Fact]
    public void A_command_that_outlives_the_timeout_is_killed_with_its_children_at_the_bound()
    {
        Requirements.EnsureTools("sh", "sleep");
        string pidFile = Path.Combine(Path.GetTempPath(), "jvcmd-" + NetNs.RandomHex(4));
        var sw = Stopwatch.StartNew();
        PlatformException e = Assert.Throws<PlatformException>(() =>
            ExternalCommand.Run("/bin/sh", ["-c", $"sleep 30 & echo $! > {pidFile}; wait"], timeout: TimeSpan.FromSeconds(1.5)));
        sw.Stop();
        Assert.Contains("did not finish within", e.Message, StringComparison.Ordinal);
        // Bound 1.5 s (the shell waits 30 s for its child), plus the same 2.5 s margin as above.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), $"took {sw.Elapsed.TotalSeconds:0.0} s (bound 1.5 s)");
        int child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        File.Delete(pidFile);
        // Killed with the tree: gone (or a zombie being reaped) shortly after.
        bool gone = false;
        for (int i = 0; i < 40 && !gone; i++)
        {
            gone = !File.Exists($"/proc/{child}/status") || File.ReadAllText($"/proc/{child}/status").Contains("State:\tZ", StringComparison.Ordinal);
            Thread.Sleep(50);
        }
        Assert.True(gone, "the child outlived the timeout");
    }
}
