using System.Diagnostics;

namespace JumpingVpn.Tests.Architecture.Samples;

/// <summary>Deliberately breaks every pure-core rule so the scanner's self-test can see it report each
/// one; nothing runs this code.</summary>
internal static class ClockReadingSample
{
    public static long Timestamp() => Stopwatch.GetTimestamp();

    public static DateTime Wall() => DateTime.UtcNow;

    public static DateTimeOffset LocalWall() => DateTimeOffset.Now;

    public static long Ticks() => Environment.TickCount64;

    public static int Dice() => new Random(1).Next();

    public static void Nap() => Thread.Sleep(0);

    public static System.Net.Sockets.Socket Open() =>
        new(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);

    /// <summary>A lambda is compiled into a nested closure type; the scanner must still charge it to this type.</summary>
    public static Func<long> Deferred() => () => Stopwatch.GetTimestamp() + Environment.TickCount;
}

/// <summary>Uses the injected clock and random source the way the cores do: the scanner must report nothing.</summary>
internal static class InjectedClockSample
{
    public static long Timestamp(TimeProvider time) => time.GetTimestamp();

    public static int Dice(Func<int> random) => random();
}
