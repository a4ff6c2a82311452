using System.Runtime.InteropServices;

namespace JumpingVpn.Benchmarks;

/// <summary>
/// The calling thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), for the CPU-time benchmarks (<see cref="AeadCpuTime"/>,
/// <see cref="OffloadCpuTime"/>): on a machine whose load average is many times its core count, wall-clock
/// means mostly measure time spent preempted, and thread CPU time does not count it.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>CPU nanoseconds the calling thread has used so far.</summary>
    public static long NowNs()
    {
        _ = ClockGetTime(ClockThreadCpuTime, out TimeSpec t);
        return (t.Seconds * 1_000_000_000) + t.Nanoseconds;
    }
}
