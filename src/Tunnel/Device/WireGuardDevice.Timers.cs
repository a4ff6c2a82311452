using JumpingVpn.Tunnel.Timers;

namespace JumpingVpn.Tunnel.Device;

public sealed partial class WireGuardDevice
{
    /// <summary>
    /// Runs every peer's expired timers (the expiry handlers of timers.c). Called periodically by the
    /// timer loop; tests call it with a fake clock.
    /// </summary>
    public void Tick()
    {
        long now = NowNs();
        // The dictionary's own enumerator, not .Values (which copies every peer each 20 ms: at 100k
        // peers that is 800 KB of garbage per tick; docs/scaling.md).
        foreach (KeyValuePair<string, Peer> entry in _peers)
        {
            Peer peer = entry.Value;
            TimerAction actions = peer.Timers.Poll(now);
            if (actions == TimerAction.None)
            {
                continue;
            }
            if ((actions & TimerAction.GiveUpHandshake) != 0)
            {
                peer.DropStaged();
            }
            if ((actions & TimerAction.RetransmitHandshake) != 0)
            {
                SendHandshakeInitiation(peer, isRetry: true);
            }
            if ((actions & TimerAction.NewHandshake) != 0)
            {
                SendHandshakeInitiation(peer, isRetry: false);
            }
            if ((actions & (TimerAction.SendKeepalive | TimerAction.PersistentKeepalive)) != 0)
            {
                SendKeepalive(peer);
            }
            if ((actions & TimerAction.ZeroKeyMaterial) != 0)
            {
                ExpireSessions(peer);
            }
        }
    }
}
