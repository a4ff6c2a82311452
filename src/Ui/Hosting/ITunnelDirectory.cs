namespace JumpingVpn.Ui.Hosting;

/// <summary>
/// The tunnels the manager knows (the configs in its directory) and their daemon logs (docs/ui.md "Layout").
/// The runtime status of an active tunnel is not here: pages read it by interface name over the typed status
/// protocol (UAPI), like <c>jvpn status</c>, so a tunnel started by <c>jvpn up</c> shows the same.
/// </summary>
public interface ITunnelDirectory
{
    /// <summary>Every known tunnel with its state, ordered by name.</summary>
    IReadOnlyList<TunnelEntry> List();

    /// <summary>The last <paramref name="max"/> lines of a tunnel's daemon log, oldest first; empty if unknown.</summary>
    IReadOnlyList<TunnelLogLine> Log(string tunnel, int max);
}

/// <summary>One tunnel: its name (config file name), interface, state and role.</summary>
public sealed record TunnelEntry(string Name, string InterfaceName, TunnelState State, string ConfigPath, bool IsServer);

/// <summary>Where a tunnel is in its life as the manager sees it.</summary>
public enum TunnelState
{
    Inactive,
    Starting,
    Active,
    Stopping,
    Failed,
}

/// <summary>One line of a tunnel's daemon log.</summary>
public sealed record TunnelLogLine(DateTimeOffset Time, string Text);
