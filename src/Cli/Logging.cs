using Microsoft.Extensions.Logging;

namespace JumpingVpn.Cli;

/// <summary>One-line console logs on stderr; level from JVPN_LOG (trace, debug, information, warning, error).</summary>
internal static class Logging
{
    /// <summary>`jvpn up`'s loggers: the small stderr factory (docs/performance.md "Idle client memory and start-up").</summary>
    public static ILoggerFactory Create() => new StderrLoggerFactory(Level());

    /// <summary>The same console format for a generic host's logging builder (`jvpn service run`).</summary>
    public static void Configure(ILoggingBuilder b)
    {
        b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        b.AddFilter(null, Level());
    }

    private static LogLevel Level() =>
        Enum.TryParse(Environment.GetEnvironmentVariable("JVPN_LOG"), true, out LogLevel level) ? level : LogLevel.Information;
}
