using JumpingVpn.Control.Uapi.Sessions;

namespace JumpingVpn.Ui.Tunnel.Timeline;

/// <summary>
/// One status reading of a tunnel as the timeline needs it (docs/ui.md "Timeline"): the transfer counters summed
/// over its peers, the client session's paths and the recent switches the daemon reports, each with its age.
/// </summary>
/// <param name="RxBytes">Bytes received from all peers since the interface started.</param>
/// <param name="TxBytes">Bytes sent to all peers since the interface started.</param>
/// <param name="Paths">The client's paths (empty for a server or a plain WireGuard peer).</param>
/// <param name="Switches">The recent path switches, newest last, ages relative to the reading.</param>
public sealed record TimelineInput(ulong RxBytes, ulong TxBytes, IReadOnlyList<PathStatus> Paths, IReadOnlyList<PathSwitchStatus> Switches);
