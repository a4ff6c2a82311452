using System.Globalization;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// The Jumping session layer between two jvpn endpoints (docs/design.md §2.2-§3, §7): the story a session tells
/// in `jvpn events` from HELLO to TERMINATE, the same story in the audit file, and the Prometheus
/// metrics that count it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SessionLayerTests
{
    [Fact]
    public void Events_audit_file_and_metrics_tell_the_story_from_hello_to_terminate()
    {
        Requirements.Ensure("jvpn", "wg", "ping");
        string dir = Directory.CreateTempSubdirectory("jvaudit").FullName;
        int port = 19000 + Random.Shared.Next(1000);
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, serverJumping: new Dictionary<string, string>
        {
            ["AuditLog"] = Path.Combine(dir, "%i.jsonl"),
            ["Metrics"] = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port}"),
        });
        var server = (JvpnPeer)tunnel.Server;
        var client = (JvpnPeer)tunnel.Client;
        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        // `jvpn events --follow` streams the story live (it keeps running until interrupted).
        using ManagedProcess follow = server.Namespace.Start(Binaries.Dotnet(), [Binaries.JvpnDll, "events", server.InterfaceName, "--follow"]);

        CommandResult down = client.Run("down", client.InterfaceName);
        Assert.True(down.ExitCode == 0, $"{down.CommandLine}: {down.StandardError}");
        string[] story = WaitForEvent(server, "SESSION_TERMINATED", TimeSpan.FromSeconds(5));
        TunnelScenarios.Log("server events:\n" + string.Join('\n', story));
        DateTimeOffset followDeadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5);
        while (!follow.Output.Contains("\"event_type\":\"SESSION_TERMINATED\"", StringComparison.Ordinal) && DateTimeOffset.UtcNow < followDeadline)
        {
            Thread.Sleep(100);
        }
        Assert.False(follow.HasExited, $"events --follow stopped by itself: {follow.Describe()}");
        Assert.Contains("\"event_type\":\"SESSION_CREATED\"", follow.Output, StringComparison.Ordinal);
        Assert.Contains("\"event_type\":\"SESSION_TERMINATED\"", follow.Output, StringComparison.Ordinal);

        var types = new List<string>();
        var versions = new List<ulong>();
        string? sessionId = null;
        foreach (string line in story)
        {
            using JsonDocument e = JsonDocument.Parse(line);
            JsonElement root = e.RootElement;
            string type = root.GetProperty("event_type").GetString()!;
            types.Add(type);
            sessionId ??= root.GetProperty("session_id").GetString();
            Assert.Equal(sessionId, root.GetProperty("session_id").GetString());
            Assert.Equal(32, sessionId!.Length); // 128-bit random id, hex
            if (type is "SESSION_CREATED" or "STATE_CHANGE")
            {
                versions.Add(root.GetProperty("state_version").GetUInt64());
            }
            if (type == "STATE_CHANGE" && root.GetProperty("new_state").GetString() == "TERMINATED")
            {
                Assert.Equal("CLIENT_TERMINATED", root.GetProperty("reason_code").GetString());
            }
        }
        Assert.Equal("SESSION_CREATED", types[0]);
        Assert.Contains("TRANSPORT_ATTACHED", types);
        Assert.Equal("SESSION_TERMINATED", types[^1]);
        Assert.Equal(Enumerable.Range(0, versions.Count).Select(i => (ulong)i), versions); // contiguous from 0

        // The same lines reach the audit file through the non-blocking pipeline.
        string file = Path.Combine(dir, server.InterfaceName + ".jsonl");
        string[] fileLines = WaitForFile(file, story.Length);
        Assert.Equal(story, fileLines[..story.Length]);

        string metrics = server.Namespace.Exec("bash", ["-c",
            string.Create(CultureInfo.InvariantCulture, $"exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3")]).StandardOutput;
        TunnelScenarios.Log(metrics);
        Assert.Contains("200 OK", metrics, StringComparison.Ordinal);
        Assert.Contains("jvpn_session_transitions_total{from=\"BIRTH\",to=\"ATTACHED\",reason=\"HANDSHAKE_OK\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("reason=\"CLIENT_TERMINATED\"} 1", metrics, StringComparison.Ordinal);
        Assert.Matches("jvpn_handshakes_total [1-9]", metrics);
        Assert.Matches("jvpn_packets_total\\{direction=\"rx\"\\} [1-9]", metrics);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Server restart semantics (docs/sessions.md): sessions live in the server's memory, so a server that
    /// crashes and comes back has none. The client notices the silence after transport_dead (4 s by
    /// default; its KEEPALIVEs go unanswered because the server drops its old keys as unknown), handshakes
    /// at once instead of after WireGuard's 15 s, and its HELLO gets a NEW session id, which it reports as
    /// SESSION_REPLACED. Traffic resumes without any action by the user.
    /// </summary>
    [Fact]
    public void After_a_server_crash_and_restart_the_client_gets_a_new_session_within_seconds()
    {
        Requirements.Ensure("jvpn", "wg", "ping");
        using TwoHostTopology topology = TwoHostTopology.Create();
        using TunnelPair tunnel = topology.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        var client = (JvpnPeer)tunnel.Client;
        TunnelScenarios.AssertPing(tunnel, ipv6: false);
        string? oldId = ClientSessionId(client);
        Assert.False(string.IsNullOrEmpty(oldId));

        var server = (JvpnPeer)tunnel.Server;
        int pid = server.Process!.Id;
        Command.Run("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(server.Process.WaitForExit(TimeSpan.FromSeconds(5)), "the server did not die");
        DateTimeOffset crashedAt = DateTimeOffset.UtcNow;
        using JvpnPeer restarted = JvpnPeer.Start(topology.Server, server.Config);

        string? newId = null;
        DateTimeOffset deadline = crashedAt + TimeSpan.FromSeconds(20);
        while (DateTimeOffset.UtcNow < deadline)
        {
            newId = ClientSessionId(client);
            if (!string.IsNullOrEmpty(newId) && newId != oldId)
            {
                break;
            }
            Thread.Sleep(100);
        }
        TimeSpan took = DateTimeOffset.UtcNow - crashedAt;
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture, $"server restart: new session {newId} (was {oldId}) {took.TotalMilliseconds:0} ms after the crash"));
        Assert.True(newId is not null && newId != oldId, $"the client did not get a new session within 20 s\n{tunnel.Describe()}");
        Assert.True(took < TimeSpan.FromSeconds(10), $"a new session took {took}");
        PingResult after = Ping.Measure(topology.Client, TwoHostTopology.ServerTunnelV4, count: 10, intervalMs: 50);
        Assert.True(after.Received >= 9, $"traffic after the restart: {after}");
        CommandResult events = client.Run("events", client.InterfaceName);
        Assert.Contains("\"event_type\":\"TRANSPORT_DEAD\"", events.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\"event_type\":\"SESSION_REPLACED\"", events.StandardOutput, StringComparison.Ordinal);
    }

    private static string? ClientSessionId(JvpnPeer client) =>
        SessionStatus.Read(client) is { State: "ATTACHED" } s ? s.Id : null;

    private static string[] WaitForEvent(JvpnPeer peer, string eventType, TimeSpan timeout)
    {
        DateTimeOffset deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            CommandResult r = peer.Run("events", peer.InterfaceName);
            Assert.True(r.ExitCode == 0, $"{r.CommandLine}: {r.StandardError}");
            string[] lines = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Any(l => l.Contains($"\"event_type\":\"{eventType}\"", StringComparison.Ordinal)) || DateTimeOffset.UtcNow > deadline)
            {
                return lines;
            }
            Thread.Sleep(100);
        }
    }

    private static string[] WaitForFile(string path, int lines)
    {
        DateTimeOffset deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5);
        string[] content = [];
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (File.Exists(path))
            {
                content = File.ReadAllLines(path);
                if (content.Length >= lines)
                {
                    return content;
                }
            }
            Thread.Sleep(100);
        }
        Assert.Fail($"{path} has {content.Length} lines, expected at least {lines}");
        return content;
    }
}
