using System.Diagnostics;
using System.Globalization;
using JumpingVpn.Control.Uapi.Transport;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Waiting for a daemon the test started to be ready. A start needs little CPU but waits for it, so on a machine
/// shared by parallel runs the wait is a budget stretched by the load average rather than a fixed wall time.
/// </summary>
internal static class ReadyWait
{
    /// <summary>
    /// <paramref name="timeout"/> times the 1-minute load average per core when that exceeds 1, at most 6 times
    /// <paramref name="timeout"/>, and never shorter than <paramref name="atLeast"/> (a budget only grows during a
    /// wait, so a load falling as the daemon starts cannot end the wait early).
    /// </summary>
    public static TimeSpan Budget(TimeSpan timeout, TimeSpan atLeast = default)
    {
        double perCore = 1;
        if (File.Exists("/proc/loadavg")
            && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double load))
        {
            perCore = Math.Clamp(load / Environment.ProcessorCount, 1, 6);
        }
        TimeSpan budget = timeout * perCore;
        return budget > atLeast ? budget : atLeast;
    }

    /// <summary>
    /// Until a process accepts on the Unix socket <paramref name="socketPath"/>. The file alone is not enough: it
    /// appears at bind(2), and a client connecting before listen(2) is refused (`jvpn status` then calls the socket
    /// stale). Fails at once when <paramref name="process"/> exits.
    /// </summary>
    public static void UntilSocketAnswers(ManagedProcess process, string socketPath, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan budget = Budget(timeout);
        while (!(File.Exists(socketPath) && UnixSocketUapiTransport.IsAnswering(socketPath)))
        {
            Assert.False(process.HasExited, $"exited before {what} answered\n{process.Describe()}");
            Assert.True(clock.Elapsed < budget,
                $"no {what} ({socketPath}) after {clock.Elapsed.TotalSeconds:0} s (budget {timeout.TotalSeconds:0} s stretched by the load: {File.ReadAllText("/proc/loadavg").Trim()})\n{process.Describe()}");
            Thread.Sleep(50);
            budget = Budget(timeout, budget);
        }
    }
}
