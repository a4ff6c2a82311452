using JumpingVpn.Tunnel.Loops;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Tests.Tunnel.Loops;

public class LoopFaultsTests
{
    private const long Second = 1_000_000_000;

    /// <summary>Counts log calls by level; the messages are not under test.</summary>
    internal sealed class CountingLogger : ILogger
    {
        public int Errors;
        public int Criticals;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Error)
            {
                Interlocked.Increment(ref Errors);
            }
            else if (logLevel == LogLevel.Critical)
            {
                Interlocked.Increment(ref Criticals);
            }
        }
    }

    [Fact]
    public void EachFaultIsCountedButEachKindIsLoggedAtMostOnceAMinute()
    {
        var logger = new CountingLogger();
        var exits = new List<int>();
        var faults = new LoopFaults(logger, exits.Add);
        for (int i = 0; i < 5; i++)
        {
            Assert.NotNull(faults.Record(PacketLoop.UdpReceive, new InvalidOperationException("x"), 1, 10 * Second + i));
        }
        Assert.Equal(1, logger.Errors);
        faults.Record(PacketLoop.UdpReceive, new ArgumentOutOfRangeException("y"), 1, 11 * Second); // another kind
        faults.Record(PacketLoop.Timers, new InvalidOperationException("x"), 1, 11 * Second);        // another loop
        Assert.Equal(3, logger.Errors);
        faults.Record(PacketLoop.UdpReceive, new InvalidOperationException("x"), 1, 71 * Second);   // a minute later
        Assert.Equal(4, logger.Errors);
        Assert.Equal(7, faults.Count(PacketLoop.UdpReceive));
        Assert.Equal(8, faults.Total);
        Assert.Empty(exits);
    }

    [Fact]
    public void AFaultRunPausesLongerEachTimeAndEndsTheProcessAtTheLimit()
    {
        var logger = new CountingLogger();
        var exits = new List<int>();
        var faults = new LoopFaults(logger, exits.Add);
        TimeSpan? first = faults.Record(PacketLoop.TunRead, new IOException(), 1, 0);
        TimeSpan? later = faults.Record(PacketLoop.TunRead, new IOException(), LoopFaults.MaxConsecutive - 1, 0);
        Assert.True(later > first);
        Assert.Empty(exits);
        Assert.Null(faults.Record(PacketLoop.TunRead, new IOException(), LoopFaults.MaxConsecutive, 0));
        Assert.Equal([LoopFaults.FatalExitCode], exits);
        Assert.NotEqual(0, LoopFaults.FatalExitCode);
        // A second loop failing at the same time does not exit twice.
        Assert.Null(faults.Record(PacketLoop.UdpReceive, new IOException(), LoopFaults.MaxConsecutive, 0));
        Assert.Single(exits);
        Assert.Equal(1, logger.Criticals);
    }

    [Fact]
    public void OutOfMemoryIsFatalAtOnce()
    {
        var exits = new List<int>();
        var faults = new LoopFaults(new CountingLogger(), exits.Add);
        Assert.Null(faults.Record(PacketLoop.Handshake, new OutOfMemoryException(), 1, 0));
        Assert.Equal([LoopFaults.FatalExitCode], exits);
    }
}
