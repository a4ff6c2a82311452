using System.Globalization;
using System.Text;

namespace JumpingVpn.Control.Uapi.Sessions;

/// <summary>
/// One peer's Jumping session in a <c>jvpn_session=1</c> reply: a block of key=value lines that starts with
/// <c>public_key=HEX</c>. Server blocks carry the common keys; client blocks add session_layer, rtt_ms and,
/// when the client tracks paths, the path lines and path counters (present together, <see cref="SwitchesLastMinute"/> set).
/// </summary>
public sealed record SessionStatusRecord
{
    public required string PublicKeyHex { get; init; }

    /// <summary>server or client.</summary>
    public string Role { get; init; } = "";

    /// <summary>on or off; client blocks only (null: the key is absent).</summary>
    public string? SessionLayer { get; init; }

    /// <summary>Empty while the client has no session.</summary>
    public string SessionId { get; init; } = "";

    public string State { get; init; } = "";
    public ulong StateVersion { get; init; }
    public ulong BoundAtVersion { get; init; }

    /// <summary>ADDRESS:PORT, or empty when unbound.</summary>
    public string BoundEndpoint { get; init; } = "";

    public string LastReason { get; init; } = "";

    /// <summary>-1 when no transition happened yet.</summary>
    public long LastTransitionAgeMs { get; init; } = -1;

    public long Switches { get; init; }

    /// <summary>Client blocks only (null: the key is absent); -1 before the first measurement.</summary>
    public long? RttMs { get; init; }

    public IReadOnlyList<PathStatus> Paths { get; init; } = [];
    public IReadOnlyList<PathSwitchStatus> RecentSwitches { get; init; } = [];

    /// <summary>Set when the block carries path state (the client tracks paths); null otherwise.</summary>
    public int? SwitchesLastMinute { get; init; }

    public long? SuspectEpisodes { get; init; }

    /// <summary>Appends the block in the wire order every jvpn release writes.</summary>
    public void Write(StringBuilder sb)
    {
        ArgumentNullException.ThrowIfNull(sb);
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"public_key={PublicKeyHex}\n");
        sb.Append(inv, $"role={Role}\n");
        if (SessionLayer is not null)
        {
            sb.Append(inv, $"session_layer={SessionLayer}\n");
        }
        sb.Append(inv, $"session_id={SessionId}\n");
        sb.Append(inv, $"state={State}\n");
        sb.Append(inv, $"state_version={StateVersion}\n");
        sb.Append(inv, $"bound_at_version={BoundAtVersion}\n");
        sb.Append(inv, $"bound_endpoint={BoundEndpoint}\n");
        sb.Append(inv, $"last_reason={LastReason}\n");
        sb.Append(inv, $"last_transition_age_ms={LastTransitionAgeMs}\n");
        sb.Append(inv, $"switches={Switches}\n");
        if (RttMs is long rtt)
        {
            sb.Append(inv, $"rtt_ms={rtt}\n");
        }
        if (SwitchesLastMinute is int perMinute)
        {
            foreach (PathStatus p in Paths)
            {
                p.Write(sb);
            }
            foreach (PathSwitchStatus s in RecentSwitches)
            {
                s.Write(sb);
            }
            sb.Append(inv, $"path_switches_last_minute={perMinute}\n");
            if (SuspectEpisodes is long episodes)
            {
                sb.Append(inv, $"path_suspect_episodes={episodes}\n");
            }
        }
    }
}
