using System.Security.Cryptography;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Tests.Control.Uapi;
using JumpingVpn.Ui.Hosting;

namespace JumpingVpn.Tests.Ui;

/// <summary>
/// Tunnels for the tunnel and events pages' endpoint tests: a directory the test fills, config files in a private temp
/// directory, and real UAPI sockets there served by <see cref="UapiServer"/> over a fake device, whose extension
/// answers jvpn_session=1 and jvpn_events=1 with what the test sets (the daemon's wire format, docs/design.md §7).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class UiTestTunnels : ITunnelDirectory, IDisposable
{
    private readonly List<UapiServer> _servers = [];
    private readonly Dictionary<string, List<TunnelLogLine>> _logs = new(StringComparer.Ordinal);

    public string SocketDirectory { get; } = Directory.CreateTempSubdirectory("jvui-").FullName;

    public List<TunnelEntry> Tunnels { get; } = [];

    /// <summary>The jvpn_session=1 payload (without errno) the running interfaces answer with.</summary>
    public string SessionPayload { get; set; } = "";

    /// <summary>Audit lines the daemon holds; jvpn_events=1 answers those from the cursor on, then cursor=Count.</summary>
    public List<string> AuditLines { get; } = [];

    /// <summary>When set, jvpn_events=1 is refused like another userspace WireGuard would.</summary>
    public bool RefuseEvents { get; set; }

    public static string NewInterfaceName() => "jvu" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    /// <summary>A config file (mode 0600, as the parser demands) with the given address.</summary>
    public string WriteConfig(string name, string address)
    {
        string path = Path.Combine(SocketDirectory, name + ".conf");
        File.WriteAllText(path, $"[Interface]\nPrivateKey = {Convert.ToBase64String(UapiTestData.CountingKey(0x80))}\nAddress = {address}\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    /// <summary>Serves interface <paramref name="interfaceName"/> over a real Unix socket in <see cref="SocketDirectory"/>.</summary>
    public FakeUapiDevice Run(string interfaceName)
    {
        var device = new FakeUapiDevice { PrivateKey = UapiTestData.CountingKey(0x80), ListenPort = 51820 };
        device.AddPeer(UapiTestData.PeerA);
        UapiServer server = UapiServer.Start(interfaceName, device, socketDirectory: SocketDirectory);
        server.Extension = Answer;
        _servers.Add(server);
        return device;
    }

    public void AddLog(string tunnel, DateTimeOffset time, string text)
    {
        if (!_logs.TryGetValue(tunnel, out List<TunnelLogLine>? lines))
        {
            _logs[tunnel] = lines = [];
        }
        lines.Add(new TunnelLogLine(time, text));
    }

    public IReadOnlyList<TunnelEntry> List() => [.. Tunnels.OrderBy(t => t.Name, StringComparer.Ordinal)];

    public IReadOnlyList<TunnelLogLine> Log(string tunnel, int max) =>
        _logs.TryGetValue(tunnel, out List<TunnelLogLine>? lines) ? [.. lines.TakeLast(max)] : [];

    private string? Answer(string firstLine, IReadOnlyList<string> body)
    {
        if (firstLine == "jvpn_session=1")
        {
            return UapiProtocol.FormatResponse(SessionPayload, UapiErrno.None);
        }
        if (firstLine == "jvpn_events=1" && !RefuseEvents)
        {
            long cursor = 0;
            foreach (string line in body)
            {
                if (line.StartsWith("cursor=", StringComparison.Ordinal))
                {
                    cursor = long.Parse(line.AsSpan(7), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            var sb = new System.Text.StringBuilder();
            for (int i = (int)Math.Min(cursor, AuditLines.Count); i < AuditLines.Count; i++)
            {
                sb.Append(AuditLines[i]).Append('\n');
            }
            sb.Append("cursor=").Append(AuditLines.Count).Append('\n');
            return UapiProtocol.FormatResponse(sb.ToString(), UapiErrno.None);
        }
        return null;
    }

    public void Dispose()
    {
        foreach (UapiServer s in _servers)
        {
            s.Dispose();
        }
        Directory.Delete(SocketDirectory, recursive: true);
    }
}
