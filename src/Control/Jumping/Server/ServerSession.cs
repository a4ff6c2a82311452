using JumpingVpn.Control.Sessions;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

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

    private int _sweepQueued;

    /// <summary>
    /// Claims the one sweep item this session may have on the control workers at a time (docs/threads.md
    /// "Control workers"): false when one is already queued or running, so a slow store never piles up items.
    /// </summary>
    public bool TryMarkSweepQueued() => Interlocked.CompareExchange(ref _sweepQueued, 1, 0) == 0;

    public void ClearSweepQueued() => Volatile.Write(ref _sweepQueued, 0);

    /// <summary>What session listings show and search for this session; made and replaced only by listings
    /// (<see cref="SessionPageQuery"/>), never read on a packet thread.</summary>
    public SessionListingText? Listing { get; set; }

    /// <summary>Tier-0 budget for HELLO/REATTACH_REQUEST; kept when a HELLO replaces the session.</summary>
    public ControlFloodGuard Flood { get; init; } = new();
}
