using Microsoft.Extensions.Logging;

namespace JumpingVpn.Tunnel.Loops;

/// <summary>The four threads of <see cref="TunnelLoops"/>, as labels of <c>jvpn_loop_faults_total</c>.</summary>
public enum PacketLoop
{
    TunRead,
    UdpReceive,
    Handshake,
    Timers,
}

/// <summary>
/// What a packet thread does when one batch throws (docs/scaling.md, "Loop faults"): the batch is
/// lost, the fault is counted per loop, logged once per loop and exception type (then at most once a
/// minute with the number suppressed meanwhile), and the loop goes on after a short pause. A loop that
/// faults <see cref="MaxConsecutive"/> times in a row without one good batch in between, or runs out
/// of memory, cannot do its job: the process exits with <see cref="FatalExitCode"/> so the service
/// manager restarts it, instead of living on with a dead data path.
/// </summary>
/// <remarks>
/// Sans-I/O: time comes in as monotonic nanoseconds and the exit is injected. Faults are rare (a bug or
/// a broken device), so this path may lock and allocate; the loops only call it from a catch block.
/// </remarks>
public sealed class LoopFaults
{
    /// <summary>EX_SOFTWARE (sysexits.h): an internal error; systemd's Restart=on-failure restarts on it.</summary>
    public const int FatalExitCode = 70;

    /// <summary>Faults in a row (with the pauses below, about 1.4 s of nothing but faults) that end the process.</summary>
    public const int MaxConsecutive = 16;

    private const long LogIntervalNs = 60L * 1_000_000_000;

    private readonly ILogger _logger;
    private readonly Action<int> _exit;
    private readonly long[] _counts = new long[4];
    private readonly Lock _lock = new();
    private readonly Dictionary<(PacketLoop, Type), (long LastLoggedNs, long Suppressed)> _logged = [];
    private int _exited;

    /// <param name="exit">Ends the process with the given code (<see cref="Environment.Exit"/> in production).</param>
    public LoopFaults(ILogger logger, Action<int> exit)
    {
        _logger = logger;
        _exit = exit;
    }

    /// <summary>Faults of all loops so far.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _counts.Length; i++)
            {
                sum += Interlocked.Read(ref _counts[i]);
            }
            return sum;
        }
    }

    /// <summary>Faults of one loop so far.</summary>
    public long Count(PacketLoop loop) => Interlocked.Read(ref _counts[(int)loop]);

    /// <summary>
    /// Records one fault of <paramref name="loop"/>, the <paramref name="consecutive"/>-th in a row (1 for
    /// the first after a good batch). Returns how long the loop should pause before its next batch, or
    /// null when the loop cannot continue: then the exit has been requested and the loop should return.
    /// </summary>
    public TimeSpan? Record(PacketLoop loop, Exception fault, int consecutive, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(fault);
        Interlocked.Increment(ref _counts[(int)loop]);
        if (consecutive >= MaxConsecutive || fault is OutOfMemoryException or InsufficientExecutionStackException)
        {
            Fatal(loop, fault, consecutive >= MaxConsecutive ? $"{consecutive} batches failed in a row" : "it ran out of memory or stack");
            return null;
        }
        LogRateLimited(loop, fault, nowNs);
        // A pause that grows with the run of faults: a fault that repeats does not spin a core, and a
        // transient one (a device briefly gone) gets time to clear before the loop gives up.
        return TimeSpan.FromMilliseconds(Math.Min(10 * consecutive, 200));
    }

    /// <summary>
    /// <paramref name="loop"/> cannot continue (<paramref name="why"/>): logs it and ends the process with
    /// <see cref="FatalExitCode"/> (once, whichever loop gets here first).
    /// </summary>
    public void Fatal(PacketLoop loop, Exception? fault, string why)
    {
        if (Interlocked.Exchange(ref _exited, 1) != 0)
        {
            return;
        }
        _logger.LogCritical(fault, "{Loop} loop cannot continue: {Why}; exiting with code {Code} so the service manager restarts jvpn",
            loop, why, FatalExitCode);
        _exit(FatalExitCode);
    }

    private void LogRateLimited(PacketLoop loop, Exception fault, long nowNs)
    {
        long suppressed;
        lock (_lock)
        {
            var kind = (loop, fault.GetType());
            if (_logged.TryGetValue(kind, out var seen) && nowNs - seen.LastLoggedNs < LogIntervalNs)
            {
                _logged[kind] = (seen.LastLoggedNs, seen.Suppressed + 1);
                return;
            }
            suppressed = seen.Suppressed;
            _logged[kind] = (nowNs, 0);
        }
        _logger.LogError(fault, "{Loop} loop: a batch failed and was dropped; the loop goes on ({Suppressed} more faults of this kind since the last report)",
            loop, suppressed);
    }
}
