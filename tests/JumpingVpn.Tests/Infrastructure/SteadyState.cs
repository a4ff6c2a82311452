namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Zero-allocation checks for hot paths. The code under test runs in three measured windows after a warm-up;
/// an allocation per call shows in every window, while a one-time runtime event that lands on the test thread
/// (a tier-up or on-stack replacement compile, a type load; seen in CI as a few KB in one window) can spoil
/// only one. The claim checked is therefore "a steady-state window allocates nothing".
/// </summary>
internal static class SteadyState
{
    private const int Windows = 3;

    /// <summary>Bytes this thread allocated in each of the three windows of <paramref name="rounds"/> calls.</summary>
    public static long[] AllocatedBytes(Action round, int rounds, int warmup)
    {
        for (int i = 0; i < warmup; i++)
        {
            round();
        }
        long[] windows = new long[Windows];
        for (int w = 0; w < Windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < rounds; i++)
            {
                round();
            }
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return windows;
    }

    /// <summary>Fails unless at least one window of <paramref name="rounds"/> calls allocated nothing. Keep
    /// xunit asserts out of <paramref name="round"/>: they allocate.</summary>
    public static void AllocatesNothing(Action round, int rounds, int warmup = 100)
    {
        long[] windows = AllocatedBytes(round, rounds, warmup);
        long least = Math.Min(windows[0], Math.Min(windows[1], windows[2]));
        Assert.True(least == 0, $"every steady-state window of {rounds} calls allocated: {string.Join(", ", windows)} B");
    }
}
