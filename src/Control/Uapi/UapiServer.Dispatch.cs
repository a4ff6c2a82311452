namespace JumpingVpn.Control.Uapi;

public sealed partial class UapiServer
{
    /// <summary>
    /// Answers one request (sans-I/O: lines in, response text out). Never throws for bad input or a
    /// failing device: every failure becomes an <c>errno=</c> answer and a log line.
    /// </summary>
    internal string Dispatch(string operation, IReadOnlyList<string> body)
    {
        switch (operation)
        {
            case UapiProtocol.GetOperation:
                if (body.Count != 0)
                {
                    return Failed(UapiErrno.Invalid, $"{body.Count} unexpected line(s) after get=1 (not shown, they may hold a key)");
                }
                try
                {
                    UapiDeviceSnapshot snapshot;
                    lock (_deviceLock)
                    {
                        snapshot = _device.GetSnapshot();
                    }
                    return UapiProtocol.FormatGet(snapshot);
                }
#pragma warning disable CA1031 // The device is outside this class's control; any failure must become an errno answer, not a dead connection task.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    return Failed(UapiErrno.Unknown, $"get failed: {ex.Message}");
                }

            case UapiProtocol.SetOperation:
                if (!UapiProtocol.TryParseSet(body, out UapiSetRequest request, out int errno, out string error))
                {
                    return Failed(errno, error);
                }
                try
                {
                    UapiResult result;
                    lock (_deviceLock)
                    {
                        result = _device.Apply(request);
                    }
                    return result.IsSuccess
                        ? UapiProtocol.FormatResponse(string.Empty, UapiErrno.None)
                        : Failed(result.Errno, result.Message);
                }
#pragma warning disable CA1031 // As above: a throwing device must not take the socket down.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    return Failed(UapiErrno.Unknown, $"set failed: {ex.Message}");
                }

            default:
                Func<string, IReadOnlyList<string>, string?>? extension = Extension;
                try
                {
                    string? answer = extension?.Invoke(operation, body);
                    return answer ?? Failed(UapiErrno.Invalid, $"invalid UAPI operation {UapiProtocol.ForLog(operation)}");
                }
#pragma warning disable CA1031 // Extensions are pluggable code; their failure is reported on the wire.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    return Failed(UapiErrno.Unknown, $"{UapiProtocol.ForLog(operation)} failed: {ex.Message}");
                }
        }
    }

    private string Failed(int errno, string message)
    {
        UapiLog.RequestFailed(_logger, InterfaceName, errno, message);
        return UapiProtocol.FormatResponse(string.Empty, errno);
    }
}
