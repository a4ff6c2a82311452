namespace JumpingVpn.Control.Policy;

/// <summary>
/// The numbers that bind one Jumping session (docs/design.md §3 "Policy defaults", docs/session-spec.md §3). Every session
/// keeps the snapshot it was created with: a policy change applies to new sessions only, so an audit trail
/// never has to say which policy a past transition ran under. All durations are milliseconds of a
/// monotonic clock.
/// </summary>
public sealed record SessionPolicy
{
    /// <summary>Hard cap on candidate paths (docs/design.md §3: default 3, hard cap 8).</summary>
    public const int CandidatePathsHardCap = 8;

    /// <summary>The control ctrl_seq bitmap is one 128-bit word (docs/session-spec.md §2.6): the window cannot be wider.</summary>
    public const int CtrlReplayWindowHardCap = 128;

    /// <summary>Upper bound of the switch ring, so per-session memory stays bounded whatever the config says.</summary>
    public const int MaxSwitchesPerMinuteHardCap = 64;

    /// <summary>The defaults of docs/design.md §3.</summary>
    public static SessionPolicy Default { get; } = new();

    /// <summary>Opaque version label carried in audit events (docs/session-spec.md §6.2 `policy_version`).</summary>
    public string Version { get; init; } = "1";

    public long MaxLifetimeMs { get; init; } = 8 * 3_600_000L;

    /// <summary>Time without a binding before TERMINATED (T11).</summary>
    public long TransportLostTtlMs { get; init; } = 15_000;

    /// <summary>Time in RECOVERING before DEGRADED (T9).</summary>
    public long RecoveryWindowMs { get; init; } = 8_000;

    public long HeartbeatIntervalMs { get; init; } = 500;

    public long HeartbeatVolatileMs { get; init; } = 2_000;

    public long TransportDeadMs { get; init; } = 4_000;

    public long LossWindowMs { get; init; } = 2_000;

    public double LossThreshold { get; init; } = 0.20;

    public int MaxConsecutiveDrops { get; init; } = 3;

    /// <summary>Time in VOLATILE before DEGRADED (T6).</summary>
    public long VolatileToDegradedMs { get; init; } = 4_000;

    public long StabilityWindowMs { get; init; } = 2_000;

    /// <summary>ATTACHED sub-flag after a switch (docs/session-spec.md §1.2: post-switch stabilisation is not a state).</summary>
    public long ProbationMs { get; init; } = 2_000;

    /// <summary>Successful switches allowed in any sliding 60 s window (docs/session-spec.md §2.7).</summary>
    public int MaxSwitchesPerMinute { get; init; } = 8;

    /// <summary>Minimum gap after a successful switch while bound; doubled in DEGRADED, skipped while unbound.</summary>
    public long SwitchCooldownMs { get; init; } = 1_500;

    public double ImprovementFactor { get; init; } = 1.10;

    public int MaxCandidatePaths { get; init; } = 3;

    public int CtrlReplayWindow { get; init; } = 128;

    public int MaxForwardGap { get; init; } = 256;

    public int MaxSessionsPerNode { get; init; } = 10_000;

    /// <summary>BIRTH without HELLO for this long -> TERMINATED (T2). docs/session-spec.md §3 [P].</summary>
    public long HandshakeTimeoutMs { get; init; } = 5_000;

    public long TombstoneTtlMs { get; init; } = 30_000;

    /// <summary>T19 bound; 0 disables it (docs/session-spec.md §3: default off, lifetime bounds it anyway).</summary>
    public long DegradedMaxMs { get; init; }

    /// <summary>T7 from ATTACHED (planned migration, e.g. back to Wi-Fi); docs/session-spec.md §1.4 [P].</summary>
    public bool AllowPlannedMigration { get; init; } = true;

    /// <summary>
    /// Minimum gap between two REBIND_HINTs of one session (docs/design.md §2.2: rate-limited). Hints answer
    /// authenticated traffic, so this only bounds how much a NAT flapping under load makes the server send.
    /// </summary>
    public long RebindHintIntervalMs { get; init; } = 250;

    /// <summary>PATH_PROBE interval on every path while the active one is healthy (docs/design.md §4: low rate).</summary>
    public long PathProbeIntervalMs { get; init; } = 500;

    /// <summary>PATH_PROBE interval while the active path is suspect or gone (probe immediately, docs/design.md §4).</summary>
    public long PathFastProbeIntervalMs { get; init; } = 150;

    /// <summary>
    /// Client: the active path is declared dead after this long without an authenticated reply while
    /// traffic is outstanding and another path answers probes ("sooner by policy" than transport_dead).
    /// </summary>
    public long PathDeadMs { get; init; } = 1_000;

    /// <summary>
    /// Client: how long after the last data packet (either direction) the session still counts as busy:
    /// the active path keeps the fast heartbeat (<see cref="HeartbeatIntervalMs"/>) this long, because a
    /// NAT often drops or remaps a mapping right after traffic stops (docs/paths.md "Idle").
    /// </summary>
    public long IdleAfterMs { get; init; } = 2_000;

    /// <summary>
    /// Client: the slowest heartbeat of an idle session. After <see cref="IdleAfterMs"/> the gap between
    /// keepalives doubles from <see cref="HeartbeatIntervalMs"/> up to this; candidate paths are probed at
    /// this interval too. The client announces it in HELLO so the server waits this long plus
    /// transport_dead before it calls an idle binding dead (docs/paths.md "Idle", docs/protocol.md §3.1).
    /// </summary>
    public long IdleKeepaliveIntervalMs { get; init; } = DefaultIdleKeepaliveMs;

    /// <summary>Idle keepalive of the default profile: at most one packet per 10 s each way, and two in a
    /// row may be lost before a 30 s NAT mapping expires (docs/paths.md "Idle").</summary>
    public const long DefaultIdleKeepaliveMs = 12_000;

    /// <summary>Idle keepalive of `Profile = battery`: WireGuard's customary PersistentKeepalive, the
    /// longest gap that still refreshes a 30 s NAT mapping.</summary>
    public const long BatteryIdleKeepaliveMs = 25_000;

    /// <summary>Upper bound of an idle interval a server accepts from a client's HELLO (and of the policy key).</summary>
    public const long IdleKeepaliveHardCapMs = 120_000;

    /// <summary>Per-session control token bucket (docs/session-spec.md §2.7: 2/s, burst 5).</summary>
    public int ControlRatePerSecond { get; init; } = 2;

    public int ControlBurst { get; init; } = 5;

    /// <summary>
    /// Checks the ranges and the ordering rules of docs/session-spec.md §3 ("policy cannot disable invariants", I23).
    /// Returns null when valid, else the config key at fault and what is wrong.
    /// </summary>
    public (string Key, string Problem)? Validate()
    {
        static (string, string)? Range(string key, long value, long min, long max, bool duration) =>
            value < min || value > max
                ? (key, duration
                    ? $"must be between {SessionPolicyParser.FormatDuration(min)} and {SessionPolicyParser.FormatDuration(max)}, got {SessionPolicyParser.FormatDuration(value)}"
                    : $"must be between {min} and {max}, got {value}")
                : null;

        static (string, string)? Check(bool failed, string key, string problem) => failed ? (key, problem) : null;

        return Range("max_lifetime", MaxLifetimeMs, 60_000, 7 * 86_400_000L, true)
            ?? Range("transport_lost_ttl", TransportLostTtlMs, 1_000, 3_600_000, true)
            ?? Range("recovery_window", RecoveryWindowMs, 100, 3_600_000, true)
            ?? Check(RecoveryWindowMs > TransportLostTtlMs, "recovery_window", $"must not exceed transport_lost_ttl ({SessionPolicyParser.FormatDuration(TransportLostTtlMs)}): rule recovery_window <= transport_lost_ttl <= max_lifetime")
            ?? Check(TransportLostTtlMs > MaxLifetimeMs, "transport_lost_ttl", $"must not exceed max_lifetime ({SessionPolicyParser.FormatDuration(MaxLifetimeMs)}): rule recovery_window <= transport_lost_ttl <= max_lifetime")
            ?? Range("heartbeat_interval", HeartbeatIntervalMs, 50, 60_000, true)
            ?? Range("heartbeat_volatile", HeartbeatVolatileMs, 100, 300_000, true)
            ?? Range("transport_dead", TransportDeadMs, 100, 600_000, true)
            ?? Check(HeartbeatIntervalMs >= HeartbeatVolatileMs, "heartbeat_volatile", "must be greater than heartbeat_interval (rule heartbeat_interval < heartbeat_volatile < transport_dead)")
            ?? Check(HeartbeatVolatileMs >= TransportDeadMs, "transport_dead", "must be greater than heartbeat_volatile (rule heartbeat_interval < heartbeat_volatile < transport_dead)")
            ?? Range("loss_window", LossWindowMs, 100, 60_000, true)
            ?? Check(!(LossThreshold > 0 && LossThreshold <= 1), "loss_threshold", $"must be a ratio in (0, 1], got {LossThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
            ?? Range("max_consecutive_drops", MaxConsecutiveDrops, 1, 1_000, false)
            ?? Range("volatile_to_degraded", VolatileToDegradedMs, 100, 3_600_000, true)
            ?? Range("stability_window", StabilityWindowMs, 100, 3_600_000, true)
            ?? Range("probation", ProbationMs, 0, 3_600_000, true)
            ?? Range("max_switches_per_min", MaxSwitchesPerMinute, 1, MaxSwitchesPerMinuteHardCap, false)
            ?? Range("switch_cooldown", SwitchCooldownMs, 0, 60_000, true)
            ?? Check(!(ImprovementFactor >= 1.0 && ImprovementFactor <= 10.0), "improvement_factor", $"must be between 1.0 and 10.0, got {ImprovementFactor.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
            ?? Range("max_candidate_paths", MaxCandidatePaths, 1, CandidatePathsHardCap, false)
            ?? Range("ctrl_replay_window", CtrlReplayWindow, 1, CtrlReplayWindowHardCap, false)
            ?? Range("max_forward_gap", MaxForwardGap, 1, 65_536, false)
            ?? Range("max_sessions", MaxSessionsPerNode, 1, 10_000_000, false)
            ?? Range("handshake_timeout", HandshakeTimeoutMs, 100, 120_000, true)
            ?? Range("tombstone_ttl", TombstoneTtlMs, 0, 3_600_000, true)
            ?? (DegradedMaxMs == 0 ? null : Range("degraded_max", DegradedMaxMs, 1_000, MaxLifetimeMs, true))
            ?? Range("rebind_hint_interval", RebindHintIntervalMs, 10, 60_000, true)
            ?? Range("path_probe_interval", PathProbeIntervalMs, 50, 60_000, true)
            ?? Range("path_fast_probe_interval", PathFastProbeIntervalMs, 20, 60_000, true)
            ?? Range("path_dead", PathDeadMs, 100, 600_000, true)
            ?? Check(PathDeadMs > TransportDeadMs, "path_dead", "must not exceed transport_dead (the fast path verdict is a shortcut of transport_dead)")
            ?? Range("idle_after", IdleAfterMs, 0, 600_000, true)
            ?? Range("idle_keepalive_interval", IdleKeepaliveIntervalMs, 1_000, IdleKeepaliveHardCapMs, true)
            ?? Check(IdleKeepaliveIntervalMs < HeartbeatIntervalMs, "idle_keepalive_interval", "must not be shorter than heartbeat_interval (the idle heartbeat only ever slows down)")
            ?? Range("control_rate", ControlRatePerSecond, 1, 1_000, false)
            ?? Range("control_burst", ControlBurst, 1, 1_000, false)
            ?? Check(string.IsNullOrWhiteSpace(Version), "policy_version", "must not be empty");
    }
}
