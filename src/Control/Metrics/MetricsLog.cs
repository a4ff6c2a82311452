using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Metrics;

/// <summary>Metrics endpoint log events with fixed ids.</summary>
internal static partial class MetricsLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "metrics endpoint listening on http://{EndPoint}/metrics")]
    public static partial void Listening(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Error, Message = "refusing to serve metrics on non-loopback address {EndPoint}: metrics are unauthenticated; use 127.0.0.1/::1 or allow non-loopback explicitly")]
    public static partial void NonLoopbackRefused(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "metrics endpoint accept failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "metrics request failed")]
    public static partial void RequestFailed(ILogger logger, Exception exception);
}
