namespace JumpingVpn.Tunnel.Timers;

/// <summary>What a peer's timers ask the device to do now (named after timers.c's expiry handlers).</summary>
[Flags]
public enum TimerAction
{
    None = 0,
    /// <summary>expired_retransmit_handshake: resend the initiation (a retry).</summary>
    RetransmitHandshake = 1,
    /// <summary>expired_retransmit_handshake after MaxTimerHandshakes: give up and drop staged packets.</summary>
    GiveUpHandshake = 2,
    /// <summary>expired_send_keepalive: we received data and sent nothing for KeepaliveTimeout.</summary>
    SendKeepalive = 4,
    /// <summary>expired_new_handshake: we sent data and heard nothing for KeepaliveTimeout + RekeyTimeout.</summary>
    NewHandshake = 8,
    /// <summary>expired_zero_key_material: no new session for 3 x RejectAfterTime.</summary>
    ZeroKeyMaterial = 16,
    /// <summary>expired_send_persistent_keepalive.</summary>
    PersistentKeepalive = 32,
}
