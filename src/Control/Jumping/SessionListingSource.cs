using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// Feeds <see cref="SessionPageQuery"/> from a running node for <c>jvpn_sessions=1</c> (docs/ui.md "Server mode"):
/// the device clock, each peer's inner addresses and the session's owner in a cluster. Inner addresses come from
/// one lock-free walk of the allowed-IPs table per table generation (a walk per peer would be O(n²) over 100 000
/// peers); on a cluster node, whose table routes only the peers it owns, from the configured inner prefixes first.
/// Runs on the control socket's task, never on a packet thread.
/// </summary>
internal sealed class SessionListingSource(WireGuardDevice device, ServerSessionTable table)
{
    private sealed record InnerMap(long Generation, Dictionary<Peer, List<IpPrefix>> ByPeer);

    private InnerMap? _inner;
    private SessionOrder? _order;

    /// <summary>Set with the cluster: its coordinator and the peers' configured inner prefixes.</summary>
    public ClusterCoordinator? Cluster { get; set; }

    public IReadOnlyDictionary<Peer, IReadOnlyList<IpPrefix>>? ClusterInner { get; set; }

    /// <summary>
    /// The complete UAPI answer to a <c>jvpn_sessions=1</c> request body: the page and <c>errno=0</c>, or
    /// <c>errno=-22</c> for a request out of range (<paramref name="refused"/> says why, for the log).
    /// </summary>
    public string Answer(IReadOnlyList<string> body, long nowMs, out string? refused)
    {
        if (!SessionPageRequest.TryParse(body, out SessionPageRequest request, out string problem))
        {
            refused = problem;
            return Uapi.UapiProtocol.FormatResponse(string.Empty, Uapi.UapiErrno.Invalid);
        }
        refused = null;
        return Uapi.UapiProtocol.FormatResponse(Query(request, nowMs).Format(), Uapi.UapiErrno.None);
    }

    public SessionPageReply Query(SessionPageRequest request, long nowMs)
    {
        long generation = device.AllowedIps.Generation;
        InnerMap? inner = _inner;
        if (inner is null || inner.Generation != generation)
        {
            inner = new InnerMap(generation, device.AllowedIps.PrefixesByOwner());
            _inner = inner;
        }
        ClusterCoordinator? cluster = Cluster;
        IReadOnlyDictionary<Peer, IReadOnlyList<IpPrefix>>? configured = ClusterInner;
        Func<ServerSession, string> owner = cluster is null
            ? static _ => ""
            : s => cluster.TryGetOwned(s.Slot.Id, out OwnedSession owned) && owned.IsValid(nowMs) ? cluster.NodeId : "";
        var inputs = new SessionListingInputs(device.NowNs(), generation, peer =>
        {
            if (configured is not null && configured.TryGetValue(peer, out IReadOnlyList<IpPrefix>? set) && set.Count > 0)
            {
                return string.Join(',', set);
            }
            return inner.ByPeer.TryGetValue(peer, out List<IpPrefix>? routed) ? string.Join(',', routed) : "";
        }, owner);
        SessionOrder order = SessionPageQuery.Order(table, _order);
        _order = order;
        return SessionPageQuery.Run(order, request, inputs);
    }
}
