using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Tunnel.Timeline;

namespace JumpingVpn.Ui.Tunnel;

/// <summary>
/// What <c>GET /api/tunnel/{name}/status</c> returns (docs/ui.md "Tunnel page"): the tunnel as the manager knows it,
/// and, while it runs, the interface, peers, the Jumping session, its paths and the switches of the last 5 minutes.
/// </summary>
public sealed record TunnelStatusView(
    string Name,
    string State,
    bool IsServer,
    bool Running,
    string? Problem,
    InterfaceView? Interface,
    IReadOnlyList<PeerView> Peers,
    int PeerCount,
    SessionView? Session,
    IReadOnlyList<PathView> Paths,
    IReadOnlyList<TimelineSwitch> Switches)
{
    /// <summary>Peers listed on the page; a server's full list is the Server page's sessions table.</summary>
    public const int MaxPeersShown = 50;

    public static TunnelStatusView NotRunning(TunnelEntry tunnel, IReadOnlyList<string> addresses, string? problem, IReadOnlyList<TimelineSwitch> switches) =>
        new(tunnel.Name, Lower(tunnel.State), tunnel.IsServer, false, problem,
            new InterfaceView(tunnel.InterfaceName, null, null, addresses), [], 0, null, [], switches);

    public static TunnelStatusView From(TunnelEntry tunnel, TunnelReading reading, IReadOnlyList<string> addresses,
        IReadOnlyList<TimelineSwitch> switches, long nowUnixSeconds)
    {
        ArgumentNullException.ThrowIfNull(tunnel);
        ArgumentNullException.ThrowIfNull(reading);
        UapiDeviceSnapshot d = reading.Device;
        string? publicKey = null;
        if (d.PrivateKey is { } priv)
        {
            byte[] pub = new byte[32];
            X25519.DerivePublicKey(priv, pub);
            publicKey = WireGuardKey.ToBase64(pub);
        }
        var peers = new List<PeerView>(Math.Min(d.Peers.Count, MaxPeersShown));
        foreach (UapiPeerSnapshot p in d.Peers)
        {
            if (peers.Count == MaxPeersShown)
            {
                break;
            }
            long hs = p.LastHandshakeUnixNs / 1_000_000_000;
            peers.Add(new PeerView(
                WireGuardKey.ToBase64(p.PublicKey),
                p.Endpoint is null ? null : UapiEndpoint.Format(p.Endpoint),
                hs == 0 ? null : Math.Max(0, nowUnixSeconds - hs),
                p.RxBytes,
                p.TxBytes,
                [.. p.AllowedIps.Select(a => a.ToString())]));
        }
        SessionStatusRecord? s = reading.ClientSession;
        if (s is null && d.Peers.Count == 1 && reading.Sessions.Count == 1)
        {
            s = reading.Sessions.Values.First(); // a server with one client: its session is the tunnel's session
        }
        SessionView? session = s is null || s.SessionLayer == "off" ? null : new SessionView(
            s.Role, s.SessionId.Length == 0 ? null : s.SessionId, s.State, s.StateVersion,
            s.BoundEndpoint.Length == 0 ? null : s.BoundEndpoint, s.LastReason, s.Switches, s.RttMs is >= 0 ? s.RttMs : null);
        var paths = new List<PathView>();
        foreach (PathStatus p in s?.Paths ?? [])
        {
            paths.Add(new PathView(p.Interface, p.LocalAddress, p.Role == "active" ? "active" : "standby", p.Role, p.State,
                p.RttMs < 0 ? null : p.RttMs, p.Loss, p.LastReplyAgeMs < 0 ? null : p.LastReplyAgeMs));
        }
        return new TunnelStatusView(tunnel.Name, Lower(tunnel.State), tunnel.IsServer, true, null,
            new InterfaceView(tunnel.InterfaceName, publicKey, d.ListenPort, addresses), peers, d.Peers.Count,
            session, paths, switches);
    }

    private static string Lower(TunnelState state) => state.ToString().ToLowerInvariant();
}

/// <summary>The interface: its name, public key, UDP port and inner addresses (from the tunnel's config).</summary>
public sealed record InterfaceView(string Name, string? PublicKey, int? ListenPort, IReadOnlyList<string> Addresses);

/// <summary>One peer: key, endpoint, seconds since its latest handshake (null: never), transfer counters.</summary>
public sealed record PeerView(string PublicKey, string? Endpoint, long? LatestHandshakeAgeSeconds, ulong RxBytes, ulong TxBytes, IReadOnlyList<string> AllowedIps);

/// <summary>The Jumping session of the tunnel (docs/design.md §7).</summary>
public sealed record SessionView(string Role, string? Id, string State, ulong Version, string? BoundEndpoint, string LastReason, long Switches, long? RttMs);

/// <summary>
/// One client path. <paramref name="Role"/> is what the page shows as the band it draws: "active" (carries the tunnel)
/// or "standby"; <paramref name="Detail"/> the daemon's own role (active, pending: being switched to, candidate).
/// </summary>
public sealed record PathView(string Interface, string LocalAddress, string Role, string Detail, string State, double? RttMs, double Loss, long? LastReplyAgeMs);
