using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Client;

/// <summary>
/// Client side of node failover (docs/design.md §6, docs/cluster.md "Client failover"): a client may know several
/// nodes of one server cluster (`[Jumping] Endpoints`, all sharing the server's identity key). It leaves the
/// node it talks to when every path to it is dead by path_dead (<see cref="NodeSilence"/>), when it stays
/// silent for transport_dead, or at once when the node asks it to (SESSION_MOVE, a draining node). The next
/// handshake goes to the next node; the HELLO after it carries the session id and last acknowledged version,
/// and that node continues the session once it owns it. Until then it answers NOT_AUTHORITATIVE_OWNER or
/// STORE_UNAVAILABLE with a retry time: the client keeps the session layer on and retries with
/// REATTACH_REQUEST (the server speaks the session layer; it just cannot serve the session yet).
/// </summary>
internal sealed class ServerFailover(NodeContext context)
{
    /// <summary>
    /// Longest wait between two REATTACH_REQUESTs to a node that answered NOT_AUTHORITATIVE_OWNER: the takeover
    /// becomes possible when the survivor judges the old owner dead, which the retry time can only estimate
    /// (a newer node epoch of a stalled owner frees its sessions earlier), so the client asks again this often
    /// and resumes within one period of that moment (docs/cluster.md "Client failover"). The handshake with
    /// the node is done once; only the REATTACH is repeated.
    /// </summary>
    public const long MaxOwnerRetryMs = 100;

    /// <summary>Shortest wait after NOT_AUTHORITATIVE_OWNER: the node names the moment its verdict turns, plus a little.</summary>
    public const long MinOwnerRetryMs = 20;

    /// <summary>
    /// How long a node may keep answering NOT_AUTHORITATIVE_OWNER before the client tries the next node. A dead
    /// owner is taken over within NodeTtl plus one beat period of its death (about 0.75 s by default,
    /// docs/cluster.md "Failover"); refusals for longer mean the owner is alive, i.e. the session lives on another
    /// node (e.g. one that took the client's resume while its answer was lost), so asking here again is futile.
    /// </summary>
    public const long OwnerRefusalRotateMs = 2_000;

    private Peer? _failoverPeer;
    private SocketAddress[] _serverEndpoints = [];
    private IPEndPoint[] _serverIpEndpoints = [];
    private int _serverEndpointIndex;
    private bool _serverEndpointTried = true;

    /// <summary>The cluster nodes of the one server peer, first the configured Endpoint.</summary>
    public void UseServerEndpoints(Peer serverPeer, IReadOnlyList<IPEndPoint> endpoints, bool dualMode)
    {
        ArgumentNullException.ThrowIfNull(serverPeer);
        ArgumentNullException.ThrowIfNull(endpoints);
        _failoverPeer = serverPeer;
        _serverEndpoints = [.. endpoints.Select(e => EndpointCodec.ToSocketAddress(e, dualMode))];
        _serverIpEndpoints = [.. _serverEndpoints.Select(EndpointCodec.ToIPEndPoint)];
        _serverEndpointIndex = 0;
        // The client chooses the node; the source of a packet does not. A node the client left may still answer
        // late under the previous keypair (a stalled owner waking up, SESSION_MOVE repeats): delivered and
        // counted, but WireGuard's roaming must not point the client back at it (docs/cluster.md "Client failover").
        if (_serverEndpoints.Length >= 2)
        {
            serverPeer.AllowRoaming = false;
        }
    }

    /// <summary>True when this session's server has other nodes to go to.</summary>
    public bool HasOtherNodes(ClientSession c) => ReferenceEquals(c.Peer, _failoverPeer) && _serverEndpoints.Length >= 2;

    /// <summary>A node was chosen but WireGuard held the initiation to it back (one per RekeyTimeout): send it when allowed.</summary>
    public bool InitiationOwed(ClientSession c) => HasOtherNodes(c) && !_serverEndpointTried;

    /// <summary>
    /// Called when the client declares the server silent: move to the next node and start the handshake
    /// with it. WireGuard sends at most one initiation per RekeyTimeout (5 s), so an initiation can be
    /// held back (e.g. the last one went out 4 s ago); then the endpoint stays until an initiation to it
    /// has actually left, and the next attempt is moved to the moment one may, instead of rotating
    /// on to a node that was never tried.
    /// </summary>
    public void FailoverToNextServer(ClientSession c, long now, string detail = "TRANSPORT_DEAD")
    {
        if (!HasOtherNodes(c))
        {
            return;
        }
        if (_serverEndpointTried)
        {
            MoveTo(c, (_serverEndpointIndex + 1) % _serverEndpoints.Length, detail, null, now);
        }
        SendInitiation(c, now);
    }

    /// <summary>
    /// SESSION_MOVE from the node (docs/cluster.md "Drain"): go to the named node if it is one of the configured
    /// cluster endpoints, otherwise to the next configured one (a server must not be able to send clients
    /// to an address their user did not configure), and handshake there at once. False when the frame is
    /// not for this session or this client knows no other node.
    /// </summary>
    public bool OnSessionMove(ClientSession c, in SessionMoveFrame move, SocketAddress? from, long now)
    {
        if (!HasOtherNodes(c) || c.Id.IsNone || move.SessionId != c.Id || c.State == SessionState.Terminated)
        {
            return false;
        }
        // A repeat from the node the client is leaving while its handshake with the target is under way
        // (make-before-break: data still goes through that node): already acted on.
        if (c.Peer.HandshakeEndpoint is not null && from is not null && c.Peer.Endpoint is { } current && from.Equals(current))
        {
            return false;
        }
        // Only the node the client chose may send it elsewhere. A late copy from a node the client already
        // left still decrypts under the previous keypair, and WireGuard's roaming has just pointed the peer
        // back at that node's address: undo that, and ignore the frame.
        SocketAddress chosen = _serverEndpoints[_serverEndpointIndex];
        if (from is not null && !from.Equals(chosen))
        {
            if (c.Peer.Endpoint is { } roamed && roamed.Equals(from))
            {
                c.Peer.Endpoint = EndpointCodec.Copy(chosen);
            }
            return false;
        }
        int index = -1;
        if (move.Target is { } target)
        {
            IPEndPoint wanted = target.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(target.Address.MapToIPv4(), target.Port) : target;
            index = Array.FindIndex(_serverIpEndpoints, e => e.Equals(wanted));
        }
        bool named = index >= 0 && index != _serverEndpointIndex;
        if (!named)
        {
            index = (_serverEndpointIndex + 1) % _serverEndpoints.Length;
        }
        if (move.StateVersion > c.LastAckedVersion)
        {
            c.LastAckedVersion = move.StateVersion;
        }
        c.State = SessionState.Recovering;
        c.LastReason = WireNames.Of(move.Reason == ReasonCode.None ? ReasonCode.NodeDrain : move.Reason);
        c.LastTransitionMs = now;
        c.NextNodeFailoverMs = now + context.Policy.PathDeadMs;
        c.NextRehandshakeMs = now + 5_000; // the new node's RekeyTimeout before transport_dead may move on again
        MoveTrace.Step(context, "client.move_received", c.Id);
        // Make-before-break (docs/cluster.md "Drain"): the draining node keeps forwarding until the client is seen
        // elsewhere, so data keeps going to it under the current keypair while the handshake goes to the target;
        // the device makes the target the endpoint when that handshake completes.
        MoveTo(c, index, "DRAIN", move.Target is { } t ? (t.ToString(), named) : ("", false), now, makeBeforeBreak: true);
        SendInitiation(c, now);
        return true;
    }

    private void MoveTo(ClientSession c, int index, string detail, (string Requested, bool Accepted)? requested, long now, bool makeBeforeBreak = false)
    {
        string from = c.Peer.Endpoint is { } ep ? EndpointCodec.ToIPEndPoint(ep).ToString() : "";
        c.NodeMoves = NodeSilence.CountMove(c.NodeMoves, Math.Max(c.LastNodeMoveMs, c.SettlingSinceMs), now);
        c.LastNodeMoveMs = now;
        c.LastNodeMoveNs = context.Device.NowNs();
        c.SettlingSinceMs = -1;
        _serverEndpointIndex = index;
        SocketAddress next = _serverEndpoints[index];
        if (makeBeforeBreak && c.Peer.Endpoint is not null)
        {
            c.Peer.HandshakeEndpoint = EndpointCodec.Copy(next);
        }
        else
        {
            c.Peer.HandshakeEndpoint = null;
            c.Peer.Endpoint = EndpointCodec.Copy(next);
        }
        context.PublishLine("SERVER_FAILOVER", c.Id, c.LastAckedVersion, w =>
        {
            w.WriteString("previous_endpoint", from);
            w.WriteString("new_endpoint", EndpointCodec.ToIPEndPoint(next).ToString());
            w.WriteString("detail_code", detail);
            if (requested is { } r)
            {
                w.WriteString("requested_endpoint", r.Requested);
                w.WriteBoolean("requested_endpoint_configured", r.Accepted);
            }
        });
    }

    private void SendInitiation(ClientSession c, long now)
    {
        long before = c.Peer.Timers.LastInitiationSentNs;
        context.Device.SendHandshakeInitiation(c.Peer, isRetry: false);
        _serverEndpointTried = c.Peer.Timers.LastInitiationSentNs != before;
        MoveTrace.Step(context, _serverEndpointTried ? "client.initiation_sent" : "client.initiation_held", c.Id);
        if (!_serverEndpointTried)
        {
            long waitMs = (before + JumpingVpn.Tunnel.Timers.ProtocolTimes.RekeyTimeout - context.Device.NowNs()) / 1_000_000;
            c.NextRehandshakeMs = now + Math.Max(50, waitMs + 10);
        }
    }

    /// <summary>
    /// A node that cannot serve the session yet (NOT_AUTHORITATIVE_OWNER while the old owner is not yet judged
    /// dead, STORE_UNAVAILABLE while the store is away) still speaks the session layer: stop counting HELLO
    /// attempts (which would turn the layer off) and retry the reattach after the time it named, for as
    /// long as it takes (the client's transport-loss TTL still bounds it); NOT_AUTHORITATIVE_OWNER at least
    /// every <see cref="MaxOwnerRetryMs"/>. Runs before the frame is dispatched, so it applies whichever
    /// handler (generic or path manager) then consumes the reject. True when the same node has refused for
    /// <see cref="OwnerRefusalRotateMs"/>: the caller moves to the next node.
    /// </summary>
    public static bool OnOwnershipRefusal(ClientSession c, ControlFrameType type, ReadOnlySpan<byte> frame, long now)
    {
        if (type != ControlFrameType.ReattachReject || !ReattachRejectFrame.TryParse(frame, out ReattachRejectFrame rej)
            || rej.SessionId != c.Id || c.Id.IsNone || c.State == SessionState.Terminated
            || rej.Reason is not (ReasonCode.NotAuthoritativeOwner or ReasonCode.StoreUnavailable))
        {
            return false;
        }
        bool rotate = false;
        if (rej.Reason == ReasonCode.NotAuthoritativeOwner)
        {
            if (c.OwnerRefusedSinceMs < 0 || now - c.LastOwnerRefusalMs > 1_000)
            {
                c.OwnerRefusedSinceMs = now;
            }
            c.LastOwnerRefusalMs = now;
            if (now - c.OwnerRefusedSinceMs >= OwnerRefusalRotateMs)
            {
                c.OwnerRefusedSinceMs = -1; // the next node gets its own run
                rotate = true;
            }
        }
        c.HelloDeadlineMs = -1;
        c.HelloAttempts = 0;
        c.SessionLayerOn = true;
        if (c.ReattachStartedMs < 0)
        {
            c.ReattachStartedMs = now;
        }
        c.ReattachDeadlineMs = now + RetryAfterMs(rej);
        c.State = SessionState.Recovering;
        return rotate;
    }

    /// <summary>
    /// When to ask again after a refusal that may lift soon: NOT_AUTHORITATIVE_OWNER after the named time within
    /// [<see cref="MinOwnerRetryMs"/>, <see cref="MaxOwnerRetryMs"/>], anything else after the named time but at
    /// least 100 ms.
    /// </summary>
    public static long RetryAfterMs(in ReattachRejectFrame rej) =>
        rej.Reason == ReasonCode.NotAuthoritativeOwner
            ? Math.Clamp(rej.RetryAfterMs, MinOwnerRetryMs, MaxOwnerRetryMs)
            : Math.Max(100, rej.RetryAfterMs);
}
