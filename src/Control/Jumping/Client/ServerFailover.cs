using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Client;

/// <summary>
/// Client side of node failover (docs/design.md §6, docs/cluster.md): a client may know several nodes of one
/// server cluster (`[Jumping] Endpoints`, all sharing the server's identity key). When the node it talks to
/// stops answering for transport_dead, the next handshake goes to the next node; the HELLO after it carries
/// the session id and last acknowledged version, and that node continues the session once it owns it.
/// Until then it answers NOT_AUTHORITATIVE_OWNER or STORE_UNAVAILABLE with a retry time: the client keeps
/// the session layer on and retries with REATTACH_REQUEST (the server speaks the session layer; it just
/// cannot serve the session yet).
/// </summary>
internal sealed class ServerFailover(NodeContext context)
{
    private Peer? _failoverPeer;
    private SocketAddress[] _serverEndpoints = [];
    private int _serverEndpointIndex;
    private bool _serverEndpointTried = true;

    /// <summary>The cluster nodes of the one server peer, first the configured Endpoint.</summary>
    public void UseServerEndpoints(Peer serverPeer, IReadOnlyList<IPEndPoint> endpoints, bool dualMode)
    {
        ArgumentNullException.ThrowIfNull(serverPeer);
        ArgumentNullException.ThrowIfNull(endpoints);
        _failoverPeer = serverPeer;
        _serverEndpoints = [.. endpoints.Select(e => EndpointCodec.ToSocketAddress(e, dualMode))];
        _serverEndpointIndex = 0;
    }

    /// <summary>
    /// Called when the client declares the server silent: move to the next node and start the handshake
    /// with it. WireGuard sends at most one initiation per RekeyTimeout (5 s), so an initiation can be
    /// held back (e.g. the last one went out 4 s ago); then the endpoint stays until an initiation to it
    /// has actually left, and the next liveness check is moved to the moment one may, instead of rotating
    /// on to a node that was never tried.
    /// </summary>
    public void FailoverToNextServer(ClientSession c, long now)
    {
        if (!ReferenceEquals(c.Peer, _failoverPeer) || _serverEndpoints.Length < 2)
        {
            return;
        }
        if (_serverEndpointTried)
        {
            string from = c.Peer.Endpoint is { } ep ? EndpointCodec.ToIPEndPoint(ep).ToString() : "";
            _serverEndpointIndex = (_serverEndpointIndex + 1) % _serverEndpoints.Length;
            SocketAddress next = _serverEndpoints[_serverEndpointIndex];
            c.Peer.Endpoint = EndpointCodec.Copy(next);
            context.PublishLine("SERVER_FAILOVER", c.Id, c.LastAckedVersion, w =>
            {
                w.WriteString("previous_endpoint", from);
                w.WriteString("new_endpoint", EndpointCodec.ToIPEndPoint(next).ToString());
            });
        }
        long before = c.Peer.Timers.LastInitiationSentNs;
        context.Device.SendHandshakeInitiation(c.Peer, isRetry: false);
        _serverEndpointTried = c.Peer.Timers.LastInitiationSentNs != before;
        if (!_serverEndpointTried)
        {
            long waitMs = (before + JumpingVpn.Tunnel.Timers.ProtocolTimes.RekeyTimeout - context.Device.NowNs()) / 1_000_000;
            c.NextRehandshakeMs = now + Math.Max(50, waitMs + 10);
        }
    }

    /// <summary>
    /// A node that cannot serve the session yet (NOT_AUTHORITATIVE_OWNER while the old owner's lease runs,
    /// STORE_UNAVAILABLE while the store is away) still speaks the session layer: stop counting HELLO
    /// attempts (which would turn the layer off) and retry the reattach after the time it named, for as
    /// long as it takes (the client's transport-loss TTL still bounds it). Runs before the frame is
    /// dispatched, so it applies whichever handler (generic or path manager) then consumes the reject.
    /// </summary>
    public static void OnOwnershipRefusal(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, long now)
    {
        if (type != ControlFrameType.ReattachReject || !ReattachRejectFrame.TryParse(frame, out ReattachRejectFrame rej)
            || rej.SessionId != c.Id || c.Id.IsNone || c.State == SessionState.Terminated
            || rej.Reason is not (ReasonCode.NotAuthoritativeOwner or ReasonCode.StoreUnavailable))
        {
            return;
        }
        c.HelloDeadlineMs = -1;
        c.HelloAttempts = 0;
        c.SessionLayerOn = true;
        if (c.ReattachStartedMs < 0)
        {
            c.ReattachStartedMs = now;
        }
        c.ReattachDeadlineMs = now + Math.Max(100, rej.RetryAfterMs);
        c.State = SessionState.Recovering;
    }
}
