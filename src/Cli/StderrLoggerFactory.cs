using System.Globalization;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Cli;

/// <summary>
/// `jvpn up`'s logger: the same one-line format as the console logger the service host uses
/// ("HH:mm:ss.fff info: category[event] message"), written to stderr under a lock. It exists for memory:
/// LoggerFactory with the console provider brings dependency injection, options and configuration into
/// an idle client, about 3 MB of its RSS (docs/performance.md "Idle client memory and start-up").
/// </summary>
internal sealed class StderrLoggerFactory(LogLevel minimum) : ILoggerFactory
{
    private readonly Lock _write = new();

    /// <summary>`jvpn up`'s loggers, at the level JVPN_LOG names (docs/performance.md "Idle client memory and start-up").</summary>
    public static ILoggerFactory FromEnvironment() => new StderrLoggerFactory(LevelFromEnvironment());

    /// <summary>JVPN_LOG: trace, debug, information, warning or error; information when unset or unknown.</summary>
    public static LogLevel LevelFromEnvironment() =>
        Enum.TryParse(Environment.GetEnvironmentVariable("JVPN_LOG"), true, out LogLevel level) ? level : LogLevel.Information;

    public ILogger CreateLogger(string categoryName) => new StderrLogger(this, categoryName);

    /// <summary>Only the built-in stderr output: `jvpn up` adds no other providers.</summary>
    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("jvpn up logs to stderr only");

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss.fff} {Abbreviation(level)}: {category}[{eventId.Id}] {message}");
        if (exception is not null)
        {
            line += " " + exception.ToString().ReplaceLineEndings(" ");
        }
        lock (_write)
        {
            Console.Error.WriteLine(line);
        }
    }

    private static string Abbreviation(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    private sealed class StderrLogger(StderrLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                factory.Write(logLevel, category, eventId, formatter(state, exception), exception);
            }
        }
    }

    private LogLevel Minimum => minimum;
}
