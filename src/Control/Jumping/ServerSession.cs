using System.Net;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping;

/// <summary>The server's side of one jvpn client: its session slot and the peer it rides on.</summary>
internal sealed class ServerSession(Peer peer, SessionSlot slot)
{
    public Peer Peer { get; } = peer;
    public SessionSlot Slot { get; } = slot;

    /// <summary>
    /// How long past transport_dead an idle binding may stay silent: the idle keepalive interval the
    /// client announced in HELLO, capped by <see cref="JumpingVpn.Control.Policy.SessionPolicy.IdleKeepaliveHardCapMs"/>;
    /// 0 for a client that announces none (it keeps the heartbeat_interval heartbeat).
    /// </summary>
    public long IdleAllowanceMs { get; set; }

    /// <summary>Cheap pre-check for REBIND_HINT work on the receive thread (monotonic ms).</summary>
    public long NextHintCheckMs { get; set; }

    /// <summary>Replay drops already reported as SECURITY_EVENT.</summary>
    public long ReportedReplays { get; set; }

    /// <summary>
    /// The sweep skips this session until either time (node ms / device ns): its next timer, at most
    /// 1 s ahead, and when its binding could first count as silent. Reading only this object per
    /// session keeps a pass over 100k sessions cheap (docs/scaling.md). 0 = check at the next pass.
    /// </summary>
    public long NextCheckMs { get; set; }

    public long NextTransportCheckNs { get; set; }

    /// <summary>Tier-0 budget for HELLO/REATTACH_REQUEST; kept when a HELLO replaces the session.</summary>
    public ControlFloodGuard Flood { get; init; } = new();
}

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
