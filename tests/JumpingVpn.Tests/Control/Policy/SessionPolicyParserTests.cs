using JumpingVpn.Control.Config;
using JumpingVpn.Control.Policy;

namespace JumpingVpn.Tests.Control.Policy;

public sealed class SessionPolicyParserTests
{
    private static SessionPolicy Parse(params (string Key, string Value)[] pairs) =>
        SessionPolicyParser.Parse(pairs.ToDictionary(p => p.Key, p => p.Value), "wg0.conf");

    private static ConfigException Fails(params (string Key, string Value)[] pairs) =>
        Assert.Throws<ConfigException>(() => Parse(pairs));

    [Fact]
    public void EmptySectionGivesDesignDefaults()
    {
        SessionPolicy p = Parse();
        Assert.Equal(SessionPolicy.Default, p);
        Assert.Equal(8 * 3_600_000L, p.MaxLifetimeMs);
        Assert.Equal(15_000, p.TransportLostTtlMs);
        Assert.Equal(8_000, p.RecoveryWindowMs);
        Assert.Equal((500L, 2_000L, 4_000L), (p.HeartbeatIntervalMs, p.HeartbeatVolatileMs, p.TransportDeadMs));
        Assert.Equal((2_000L, 0.20, 3), (p.LossWindowMs, p.LossThreshold, p.MaxConsecutiveDrops));
        Assert.Equal((4_000L, 2_000L, 2_000L), (p.VolatileToDegradedMs, p.StabilityWindowMs, p.ProbationMs));
        Assert.Equal((8, 1_500L, 1.10), (p.MaxSwitchesPerMinute, p.SwitchCooldownMs, p.ImprovementFactor));
        Assert.Equal((3, 128, 256), (p.MaxCandidatePaths, p.CtrlReplayWindow, p.MaxForwardGap));
        Assert.Equal((2, 5), (p.ControlRatePerSecond, p.ControlBurst));
        Assert.Null(p.Validate());
    }

    [Fact]
    public void BatteryProfileSlowsTheIdleHeartbeatAndAnExplicitKeyStillWins()
    {
        Assert.Equal((2_000L, 12_000L), (SessionPolicy.Default.IdleAfterMs, SessionPolicy.Default.IdleKeepaliveIntervalMs));
        Assert.Equal(25_000, Parse(("Profile", "battery")).IdleKeepaliveIntervalMs);
        Assert.Equal(25_000, Parse(("profile", "Metered")).IdleKeepaliveIntervalMs);
        Assert.Equal(SessionPolicy.Default, Parse(("profile", "default")));
        // Keys are read in sorted order ("idle..." before "profile"): the preset must not undo the key.
        Assert.Equal(40_000, Parse(("profile", "battery"), ("idle_keepalive_interval", "40s")).IdleKeepaliveIntervalMs);
        Assert.Equal(5_000, Parse(("IdleAfter", "5s")).IdleAfterMs);
        Assert.Contains("default or battery", Fails(("profile", "turbo")).Message, StringComparison.Ordinal);
        Assert.Contains("idle_keepalive_interval", Fails(("idle_keepalive_interval", "10m")).Message, StringComparison.Ordinal);
        Assert.Contains("heartbeat_interval", Fails(("heartbeat_interval", "30s"), ("heartbeat_volatile", "40s"), ("transport_dead", "50s"), ("idle_keepalive_interval", "20s")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverridesAcceptSnakeDashAndPascalSpellings()
    {
        SessionPolicy p = Parse(
            ("transport_lost_ttl", "30s"), ("recoverywindow", "10s"), ("max-lifetime", "1h"),
            ("heartbeatinterval", "250ms"), ("loss_threshold", "25%"), ("max_switches_per_min", "4"),
            ("switch_cooldown", "1.5s"), ("improvement_factor", "1.2"), ("max_candidate_paths", "8"),
            ("allow_planned_migration", "false"), ("max_sessions", "1000"), ("endpoint", "192.0.2.1:51820"));
        Assert.Equal(30_000, p.TransportLostTtlMs);
        Assert.Equal(10_000, p.RecoveryWindowMs);
        Assert.Equal(3_600_000, p.MaxLifetimeMs);
        Assert.Equal(250, p.HeartbeatIntervalMs);
        Assert.Equal(0.25, p.LossThreshold, 10);
        Assert.Equal(4, p.MaxSwitchesPerMinute);
        Assert.Equal(1_500, p.SwitchCooldownMs);
        Assert.Equal(1.2, p.ImprovementFactor, 10);
        Assert.Equal(8, p.MaxCandidatePaths);
        Assert.False(p.AllowPlannedMigration);
        Assert.Equal(1000, p.MaxSessionsPerNode);
    }

    [Fact]
    public void RecoveryWindowLongerThanTtlNamesTheRule()
    {
        ConfigException e = Fails(("recovery_window", "20s"));
        Assert.Equal("wg0.conf", e.File);
        Assert.Equal("recovery_window", e.Key);
        Assert.Contains("recovery_window <= transport_lost_ttl <= max_lifetime", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("wg0.conf: recovery_window: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TtlLongerThanLifetimeIsRejected()
    {
        ConfigException e = Fails(("max_lifetime", "2m"), ("transport_lost_ttl", "3m"));
        Assert.Equal("transport_lost_ttl", e.Key);
    }

    [Theory]
    [InlineData("transport_lost_ttl", "15", "needs a unit")]
    [InlineData("transport_lost_ttl", "15 parsecs", "unknown unit")]
    [InlineData("transport_lost_ttl", "-5s", "not a duration")]
    [InlineData("heartbeat_interval", "0.5ms", "whole number")]
    [InlineData("max_switches_per_min", "0", "between 1 and 64")]
    [InlineData("max_switches_per_min", "eight", "whole number")]
    [InlineData("max_candidate_paths", "9", "between 1 and 8")]
    [InlineData("ctrl_replay_window", "256", "between 1 and 128")]
    [InlineData("loss_threshold", "1.5", "ratio")]
    [InlineData("loss_threshold", "lots", "ratio")]
    [InlineData("improvement_factor", "0.9", "between 1.0 and 10.0")]
    [InlineData("heartbeat_volatile", "400ms", "greater than heartbeat_interval")]
    [InlineData("transport_dead", "1s", "greater than heartbeat_volatile")]
    [InlineData("allow_planned_migration", "maybe", "boolean")]
    [InlineData("frobnicate", "1", "unknown key")]
    public void BadValuesNameTheKeyAndTheProblem(string key, string value, string problem)
    {
        ConfigException e = Fails((key, value));
        Assert.Equal("wg0.conf", e.File);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.NotNull(e.Key);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("15s", 15_000)]
    [InlineData("2m", 120_000)]
    [InlineData("8h", 28_800_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData(" 3 s ", 3_000)]
    public void ParsesDurations(string text, long ms)
    {
        Assert.True(SessionPolicyParser.TryParseDuration(text, out long parsed, out string? problem), problem);
        Assert.Equal(ms, parsed);
    }

    [Theory]
    [InlineData(500, "500ms")]
    [InlineData(15_000, "15s")]
    [InlineData(120_000, "2m")]
    [InlineData(28_800_000, "8h")]
    [InlineData(1_500, "1500ms")]
    public void FormatsDurationsExactly(long ms, string text) => Assert.Equal(text, SessionPolicyParser.FormatDuration(ms));
}
