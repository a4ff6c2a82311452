using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Uapi;

/// <summary>UAPI log events with fixed ids (Kestrel SocketsLog style).</summary>
internal static partial class UapiLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "UAPI for {InterfaceName} listening on {SocketPath}")]
    public static partial void Listening(ILogger logger, string interfaceName, string socketPath);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "UAPI for {InterfaceName} stopped")]
    public static partial void Stopped(ILogger logger, string interfaceName);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "UAPI request on {InterfaceName} failed with errno={Errno}: {Reason}")]
    public static partial void RequestFailed(ILogger logger, string interfaceName, int errno, string reason);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "UAPI accept on {InterfaceName} failed")]
    public static partial void AcceptFailed(ILogger logger, string interfaceName, Exception exception);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "could not delete UAPI socket {SocketPath}")]
    public static partial void CleanupFailed(ILogger logger, string socketPath, Exception exception);
}
