using System.Net;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Client;

/// <summary>The client's mirror of its session with one server (docs/session-spec.md §1.8; the server's version wins).</summary>
internal sealed class ClientSession(Peer peer)
{
    public Peer Peer { get; } = peer;
    public SessionId Id { get; set; }
    public ulong LastAckedVersion { get; set; }
    public ulong BoundAtVersion { get; set; }
    public SessionState State { get; set; } = SessionState.Birth;
    public bool SessionLayerOn { get; set; }
    public long NextCtrlSeq { get; set; } = 1;
    public long HelloDeadlineMs { get; set; } = -1;
    public int HelloAttempts { get; set; }
    public long ReattachDeadlineMs { get; set; } = -1;
    public int ReattachAttempts { get; set; }
    public long ReattachStartedMs { get; set; } = -1;
    public long LastKeepaliveMs { get; set; }

    /// <summary>Last event that calls for the fast heartbeat as if data had just flowed: a new session, a reattach.</summary>
    public long WakeMs { get; set; } = -1;

    /// <summary>Device time of the last KEEPALIVE sent (long.MinValue = none).</summary>
    public long LastKeepaliveSentNs { get; set; } = long.MinValue;

    /// <summary>Device time of the oldest request still waiting for any answer (long.MinValue = none).</summary>
    public long WaitingSinceNs { get; set; } = long.MinValue;
    public long RttMs { get; set; } = -1;

    /// <summary>Device time of the oldest data packet still waiting for any answer (long.MinValue = none).</summary>
    public long DataWaitingSinceNs;

    /// <summary>No node failover on path_dead before this time (node ms): one node per path_dead at most.</summary>
    public long NextNodeFailoverMs { get; set; }

    /// <summary>Node moves of the current run (NodeSilence.CountMove), for the settling verdict.</summary>
    public int NodeMoves { get; set; }

    /// <summary>Node time of the last move to another node (-1: none).</summary>
    public long LastNodeMoveMs { get; set; } = -1;

    /// <summary>Device time of the last move to another node (long.MinValue: none): answers after it come from the new node.</summary>
    public long LastNodeMoveNs { get; set; } = long.MinValue;

    /// <summary>Node time of the new node's first answer after the last move (-1: none yet): the settling window starts there.</summary>
    public long SettlingSinceMs { get; set; } = -1;

    /// <summary>Start of the current run of NOT_AUTHORITATIVE_OWNER refusals from this node (-1: none).</summary>
    public long OwnerRefusedSinceMs { get; set; } = -1;

    /// <summary>The last NOT_AUTHORITATIVE_OWNER refusal (a run ends after a quiet second).</summary>
    public long LastOwnerRefusalMs { get; set; } = -1;
    public long NextRehandshakeMs { get; set; }
    public int Switches { get; set; }
    public string? LastReason { get; set; }
    public long LastTransitionMs { get; set; }
    public IPEndPoint? ServerEndpoint { get; set; }

    /// <summary>The client ended the session itself after transport_lost_ttl without any path.</summary>
    public bool ExpiredLocally { get; set; }

    /// <summary>The path manager (null: one socket, no path management). Guarded by <see cref="PathLock"/>:
    /// the receive thread (probe answers, ACKs) and the sweep both drive it.</summary>
    public JumpingVpn.Control.Paths.PathManager? Paths { get; set; }

    public Lock PathLock { get; } = new();

    public long ReattachViaPathStartedMs { get; set; } = -1;

    /// <summary>Since when the handshake through the chosen path has gone unanswered; -1 not stalled.</summary>
    public long HandshakeStalledSinceMs { get; set; } = -1;

    public ulong TakeCtrlSeq() => (ulong)NextCtrlSeq++;
}
