using System.Text.Json;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>A peer's Jumping session as `jvpn status --json` reports it (first interface, first peer).</summary>
internal sealed record SessionView(string? Id, string State, ulong Version, string? Bound, string? Layer);

/// <summary>Reads the session of a running jvpn interface through its CLI, as a user or script would.</summary>
internal static class SessionStatus
{
    /// <summary>The first peer's session, or null for a plain WireGuard peer.</summary>
    public static SessionView? Read(JvpnPeer peer)
    {
        CommandResult r = peer.Run("status", peer.InterfaceName, "--json");
        Assert.True(r.ExitCode == 0, $"{r.CommandLine}: {r.StandardError}");
        using JsonDocument doc = JsonDocument.Parse(r.StandardOutput);
        JsonElement s = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0].GetProperty("session");
        if (s.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return new SessionView(s.GetProperty("session_id").GetString(), s.GetProperty("state").GetString()!,
            s.GetProperty("state_version").GetUInt64(), s.GetProperty("bound_endpoint").GetString(),
            s.TryGetProperty("session_layer", out JsonElement l) ? l.GetString() : null);
    }

    /// <summary>Polls until the first peer's session is ATTACHED; fails the test after <paramref name="timeout"/>.</summary>
    public static SessionView WaitForAttached(JvpnPeer peer, TimeSpan timeout)
    {
        DateTimeOffset deadline = DateTimeOffset.UtcNow + timeout;
        SessionView? s;
        while ((s = Read(peer)) is not { State: "ATTACHED" } && DateTimeOffset.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }
        Assert.True(s is { State: "ATTACHED" }, $"{peer.InterfaceName} has no ATTACHED session: {s}");
        return s!;
    }
}
