namespace JumpingVpn.Tunnel.Timers;

/// <summary>
/// One peer's WireGuard timers as pure state (whitepaper §6; Linux timers.c). Call sites report what
/// happened (the timers_* hooks); <see cref="Poll"/> says which timers expired. No clock inside: every
/// hook takes the current monotonic time in nanoseconds, and jitter comes from an injected source, so
/// tests drive it deterministically. Deadlines are plain longs updated with Volatile so the packet
/// threads can call hooks without a lock; a lost race only moves a deadline by one packet.
/// </summary>
public sealed class PeerTimers
{
    private const long Off = long.MaxValue;
    private readonly Func<long> _jitter;
    private long _retransmitHandshake = Off;
    private long _sendKeepalive = Off;
    private long _newHandshake = Off;
    private long _zeroKeyMaterial = Off;
    private long _persistentKeepalive = Off;
    private int _persistentKeepaliveSeconds;

    public PeerTimers(Func<long> jitter) => _jitter = jitter;

    public int HandshakeAttempts { get; private set; }

    /// <summary>Monotonic time of the last initiation we sent (for the one-per-RekeyTimeout rule).</summary>
    public long LastInitiationSentNs { get; private set; } = long.MinValue;

    /// <summary>Set once the receive path asked for a rekey near RejectAfterTime, so it asks only once per session.</summary>
    public bool SentLastMinuteHandshake { get; set; }

    public int PersistentKeepaliveSeconds
    {
        get => _persistentKeepaliveSeconds;
        set => _persistentKeepaliveSeconds = Math.Clamp(value, 0, 65535);
    }

    /// <summary>timers_data_sent: arm new-handshake if it is not already pending.</summary>
    public void DataSent(long now)
    {
        if (Volatile.Read(ref _newHandshake) == Off)
        {
            Volatile.Write(ref _newHandshake, now + ProtocolTimes.KeepaliveTimeout + ProtocolTimes.RekeyTimeout + _jitter());
        }
    }

    /// <summary>timers_data_received: arm send-keepalive if not pending.</summary>
    public void DataReceived(long now)
    {
        if (Volatile.Read(ref _sendKeepalive) == Off)
        {
            Volatile.Write(ref _sendKeepalive, now + ProtocolTimes.KeepaliveTimeout);
        }
    }

    /// <summary>timers_any_authenticated_packet_sent: whatever we sent doubles as a keepalive.</summary>
    public void AnyAuthenticatedPacketSent() => Volatile.Write(ref _sendKeepalive, Off);

    /// <summary>timers_any_authenticated_packet_received: the peer is alive, no need to rehandshake.</summary>
    public void AnyAuthenticatedPacketReceived() => Volatile.Write(ref _newHandshake, Off);

    /// <summary>timers_any_authenticated_packet_traversal: push back the persistent keepalive.</summary>
    public void AnyAuthenticatedPacketTraversal(long now)
    {
        int interval = _persistentKeepaliveSeconds;
        Volatile.Write(ref _persistentKeepalive, interval > 0 ? now + (interval * ProtocolTimes.Second) : Off);
    }

    /// <summary>timers_handshake_initiated: arm the retransmission timer.</summary>
    public void HandshakeInitiated(long now)
    {
        LastInitiationSentNs = now;
        Volatile.Write(ref _retransmitHandshake, now + ProtocolTimes.RekeyTimeout + _jitter());
    }

    /// <summary>timers_handshake_complete.</summary>
    public void HandshakeComplete()
    {
        Volatile.Write(ref _retransmitHandshake, Off);
        HandshakeAttempts = 0;
        SentLastMinuteHandshake = false;
    }

    /// <summary>timers_session_derived: key material dies 3 x RejectAfterTime after the last new session.</summary>
    public void SessionDerived(long now) => Volatile.Write(ref _zeroKeyMaterial, now + (3 * ProtocolTimes.RejectAfterTime));

    /// <summary>A new (non-retry) initiation resets the attempt counter (wireguard-go SendHandshakeInitiation).</summary>
    public void ResetAttempts() => HandshakeAttempts = 0;

    /// <summary>True when an initiation was sent less than RekeyTimeout ago: send at most one per 5 s.</summary>
    public bool InitiationRecentlySent(long now) =>
        LastInitiationSentNs != long.MinValue && now - LastInitiationSentNs < ProtocolTimes.RekeyTimeout;

    /// <summary>Stops every timer (peer removed, or key material zeroed).</summary>
    public void StopAll()
    {
        _retransmitHandshake = Off;
        _sendKeepalive = Off;
        _newHandshake = Off;
        _zeroKeyMaterial = Off;
        _persistentKeepalive = Off;
    }

    /// <summary>
    /// Fires every expired timer and returns what to do. Expired timers are disarmed first, as
    /// expiry handlers run once; the device then calls hooks (e.g. HandshakeInitiated) that re-arm.
    /// </summary>
    public TimerAction Poll(long now)
    {
        TimerAction actions = TimerAction.None;
        if (Fire(ref _retransmitHandshake, now))
        {
            if (HandshakeAttempts > ProtocolTimes.MaxTimerHandshakes)
            {
                // expired_retransmit_handshake, give-up branch: stop keepalives, schedule key zeroing.
                actions |= TimerAction.GiveUpHandshake;
                _sendKeepalive = Off;
                if (_zeroKeyMaterial == Off)
                {
                    _zeroKeyMaterial = now + (3 * ProtocolTimes.RejectAfterTime);
                }
            }
            else
            {
                HandshakeAttempts++;
                actions |= TimerAction.RetransmitHandshake;
            }
        }
        if (Fire(ref _sendKeepalive, now))
        {
            actions |= TimerAction.SendKeepalive;
        }
        if (Fire(ref _newHandshake, now))
        {
            actions |= TimerAction.NewHandshake;
        }
        if (Fire(ref _zeroKeyMaterial, now))
        {
            actions |= TimerAction.ZeroKeyMaterial;
        }
        if (Fire(ref _persistentKeepalive, now))
        {
            actions |= TimerAction.PersistentKeepalive;
        }
        return actions;
    }

    private static bool Fire(ref long deadline, long now)
    {
        long d = Volatile.Read(ref deadline);
        if (d == Off || now < d)
        {
            return false;
        }
        Volatile.Write(ref deadline, Off);
        return true;
    }
}
