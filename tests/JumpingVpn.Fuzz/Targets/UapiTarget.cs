using System.Text;
using JumpingVpn.Control.Uapi;

namespace JumpingVpn.Fuzz.Targets;

/// <summary>
/// Bytes a UAPI client writes to the socket, read the way the server reads them
/// (<see cref="UapiLineReader"/>: an operation line, then lines up to the blank line, repeated), with
/// every body given to <see cref="UapiProtocol.TryParseSet"/> and, as the CLI does with an answer, to
/// <see cref="UapiProtocol.TryParseGet"/> and <see cref="UapiProtocol.TryReadErrno"/>. The documented
/// failures are a false return (an errno answer) and the line reader's
/// <see cref="InvalidDataException"/> for an over-long line. A set request that parses must also parse
/// again from <see cref="UapiProtocol.FormatSet"/>, or the harness throws.
/// </summary>
internal static class UapiTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        using var stream = new MemoryStream(data.ToArray(), writable: false);
        var reader = new UapiLineReader(stream);
        try
        {
            // A MemoryStream completes every read synchronously, so these ValueTasks are already done.
            for (int request = 0; request < 64; request++)
            {
                string? operation = reader.ReadLineAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
                if (operation is null)
                {
                    return;
                }
                (List<string> body, bool endOfStream) = reader.ReadUntilBlankLineAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
                Parse(operation, body);
                if (endOfStream)
                {
                    return;
                }
            }
        }
        catch (InvalidDataException)
        {
            // An over-long line: the server answers errno=-EPROTO and hangs up.
        }
    }

    private static void Parse(string operation, List<string> body)
    {
        if (UapiProtocol.TryParseSet(body, out UapiSetRequest request, out _, out _))
        {
            string formatted = UapiProtocol.FormatSet(request);
            if (!UapiProtocol.TryParseSet(formatted.Split('\n'), out _, out _, out string error))
            {
                throw new InvalidOperationException($"a parsed set=1 request does not parse again once formatted: {error}");
            }
        }
        List<string> answer = [operation, .. body];
        _ = UapiProtocol.TryParseGet(answer, out _, out _, out _);
        _ = UapiProtocol.TryReadErrno(answer, out _);
    }

    public static IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        string key = new('1', 64);
        string psk = new('2', 64);
        yield return ("get", Encoding.UTF8.GetBytes("get=1\n\n"));
        yield return ("set-device", Encoding.UTF8.GetBytes($"set=1\nprivate_key={key}\nlisten_port=51820\nfwmark=0\nreplace_peers=true\n\n"));
        yield return ("set-peer", Encoding.UTF8.GetBytes(
            $"set=1\npublic_key={key}\npreshared_key={psk}\nendpoint=[2001:db8::1%eth0]:51820\npersistent_keepalive_interval=25\n"
            + "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\nupdate_only=true\nprotocol_version=1\n\n"));
        yield return ("set-remove", Encoding.UTF8.GetBytes($"set=1\npublic_key={key}\nremove=true\nendpoint=192.0.2.1:1\n\n"));
        yield return ("get-answer", Encoding.UTF8.GetBytes(
            $"private_key={key}\nlisten_port=51820\npublic_key={key}\npreshared_key={psk}\nendpoint=192.0.2.1:51820\n"
            + "last_handshake_time_sec=1\nlast_handshake_time_nsec=2\ntx_bytes=3\nrx_bytes=4\npersistent_keepalive_interval=0\n"
            + "allowed_ip=10.0.0.2/32\nprotocol_version=1\nerrno=0\n\n"));
        yield return ("two-requests", Encoding.UTF8.GetBytes("get=1\n\nset=1\nlisten_port=1\n\n"));
    }
}
