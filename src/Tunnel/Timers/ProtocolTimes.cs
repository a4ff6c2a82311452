namespace JumpingVpn.Tunnel.Timers;

/// <summary>
/// WireGuard's protocol constants (whitepaper §6.1 "Timers & Stateless UX", table of constants), in
/// nanoseconds of a monotonic clock. RekeyAfterTime is overridable for tests that need a fast rekey.
/// </summary>
public static class ProtocolTimes
{
    public const long Second = 1_000_000_000;
    public const long Millisecond = 1_000_000;

    public const ulong RekeyAfterMessages = 1UL << 60;
    /// <summary>2^64 - 2^13 - 1: beyond this counter a keypair must not be used (whitepaper §6.1).</summary>
    public const ulong RejectAfterMessages = ulong.MaxValue - (1UL << 13);
    public const long DefaultRekeyAfterTime = 120 * Second;
    public const long RejectAfterTime = 180 * Second;
    public const long RekeyAttemptTime = 90 * Second;
    public const long RekeyTimeout = 5 * Second;
    public const long KeepaliveTimeout = 10 * Second;
    public const long CookieRefreshTime = 120 * Second;
    /// <summary>Initiations from one peer closer together than this are dropped (wireguard-go HandshakeInitationRate).</summary>
    public const long HandshakeInitiationRate = Second / 50;
    /// <summary>RekeyAttemptTime / RekeyTimeout: retries before giving up.</summary>
    public const int MaxTimerHandshakes = (int)(RekeyAttemptTime / RekeyTimeout);
    /// <summary>Random extra delay on handshake retransmission, up to 1/3 s (timers.c).</summary>
    public const long MaxJitter = Second / 3;
    public const int MaxStagedPackets = 128;
}
