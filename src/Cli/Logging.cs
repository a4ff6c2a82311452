using Microsoft.Extensions.Logging;

namespace JumpingVpn.Cli;

/// <summary>One-line console logs on stderr; level from JVPN_LOG (trace, debug, information, warning, error).</summary>
internal static class Logging
{
    /// <summary>The same console format for a generic host's logging builder (`jvpn service run`).</summary>
    public static void Configure(ILoggingBuilder b)
    {
        b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        b.AddFilter(null, StderrLoggerFactory.LevelFromEnvironment());
    }
}
