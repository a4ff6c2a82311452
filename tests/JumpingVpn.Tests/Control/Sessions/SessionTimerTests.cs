using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>Clock-driven transitions (docs/session-spec.md §1.4 T2/T6/T9/T11/T12/T19, priority §1.5, I10/I11).</summary>
public sealed class SessionTimerTests
{
    [Fact]
    public void RecoveryWindowExpiryGoesDegradedThenTransportLossTtlTerminates()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        long deadAt = h.Now;
        Assert.Equal(SessionState.Recovering, h.Record.State);
        Assert.Equal(deadAt + 8_000, h.Record.RecoveryDeadlineMs);

        h.Now = deadAt + 8_000;
        Assert.Equal(SessionOutcomeKind.Accepted, h.Apply(SessionEvent.Tick()).Kind); // not yet: strictly after
        h.Now = deadAt + 8_001;
        SessionOutcome t9 = h.Apply(SessionEvent.Tick());
        Assert.Equal((SessionOutcomeKind.Transitioned, ReasonCode.RecoveryBoundsExceeded), (t9.Kind, t9.Reason));
        Assert.Equal(SessionState.Degraded, h.Record.State);
        Assert.Null(h.Record.Binding);
        Assert.Equal(deadAt, h.Record.UnboundSinceMs); // T9 does not reset the TTL clock

        h.Now = deadAt + 15_000;
        Assert.Equal(SessionOutcomeKind.Accepted, h.Apply(SessionEvent.Tick()).Kind);
        h.Now = deadAt + 15_001;
        Assert.Equal(ReasonCode.TransportLossTtlExpired, h.Apply(SessionEvent.Tick()).Reason);
        Assert.Equal(SessionState.Terminated, h.Record.State);
        AuditEvent end = Assert.Single(h.Of(AuditEventType.SessionTerminated));
        Assert.Equal(15_001, end.TransportlessAgeMs);
        Assert.Equal(4UL, h.Record.StateVersion); // v0 BIRTH, v1 attach, v2 dead, v3 degraded, v4 terminated
    }

    [Fact]
    public void OneLongJumpFiresOnlyTheHighestPriorityTerminalTimer()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        SessionOutcome o = h.Advance(60_000);
        // TRANSPORT_LOSS_TTL outranks RECOVERY_WINDOW (§1.5): one transition, straight to TERMINATED.
        Assert.Equal(1, o.Transitions);
        Assert.Equal(ReasonCode.TransportLossTtlExpired, h.Record.TerminationReason);
    }

    [Fact]
    public void LifetimeOutranksEverything()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Advance(SessionPolicy.Default.MaxLifetimeMs + 1);
        Assert.Equal(ReasonCode.SessionTtlExpired, h.Record.TerminationReason);
    }

    [Fact]
    public void LifetimeEndsAHealthySession()
    {
        var h = new SessionHarness().Attach();
        long created = h.Record.CreatedMs;
        h.Now = created + SessionPolicy.Default.MaxLifetimeMs;
        Assert.Equal(SessionState.Attached, h.Apply(SessionEvent.Tick()) is { Kind: SessionOutcomeKind.Accepted } ? h.Record.State : SessionState.Birth);
        h.Now++;
        h.Apply(SessionEvent.Keepalive(h.NextSeq++));
        Assert.Equal(SessionState.Terminated, h.Record.State);
        Assert.Equal(ReasonCode.SessionTtlExpired, h.Record.TerminationReason);
    }

    [Fact]
    public void VolatilePersistedGoesDegradedKeepingTheBinding()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
        h.Advance(4_000);
        Assert.Equal(SessionState.Volatile, h.Record.State);
        Assert.Equal(ReasonCode.VolatilePersisted, h.Advance(1).Reason);
        Assert.Equal(SessionState.Degraded, h.Record.State);
        Assert.Equal(SessionHarness.A, h.Record.Binding);
    }

    [Fact]
    public void HandshakeTimeoutEndsBirth()
    {
        var h = new SessionHarness();
        h.Advance(5_001);
        Assert.Equal(SessionState.Terminated, h.Record.State);
        Assert.Equal(ReasonCode.HandshakeFail, h.Record.TerminationReason);
        Assert.Equal(1UL, h.Record.StateVersion);
    }

    [Fact]
    public void DegradedMaxIsOffByDefaultAndTerminatesWhenSet()
    {
        var off = new SessionHarness().Attach();
        off.Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
        off.Advance(4_001);
        off.Advance(60_000);
        Assert.Equal(SessionState.Degraded, off.Record.State);

        var on = new SessionHarness(SessionPolicy.Default with { DegradedMaxMs = 10_000 }).Attach();
        on.Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
        on.Advance(4_001);
        on.Advance(10_001);
        Assert.Equal(ReasonCode.PolicyTermination, on.Record.TerminationReason);
    }

    [Fact]
    public void ReattachAfterTheTtlSeesTerminatedFirst()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Now += 15_001;
        SessionOutcome o = h.Reattach(SessionHarness.B, ReasonCode.TransportDeadRecovery, lastAcked: 1);
        Assert.Equal((SessionOutcomeKind.Rejected, ReasonCode.SessionTerminated, 1), (o.Kind, o.Reason, o.Transitions));
        Assert.Equal(ReasonCode.TransportLossTtlExpired, h.Record.TerminationReason);
    }

    [Fact]
    public void TimersDoNotFireForUnauthenticatedInput()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Now += 15_001;
        SessionSnapshot before = h.Record.Snapshot();
        h.Reattach(SessionHarness.B, authenticated: false);
        h.Apply(SessionEvent.Keepalive(99, authenticated: false));
        Assert.Equal(before, h.Record.Snapshot());
    }
}

public sealed class SessionTimerMatrixTests
{
    public static TheoryData<SessionMatrixTests.Config> Configs() => new(Enum.GetValues<SessionMatrixTests.Config>());

    /// <summary>For every state: which clock-driven transition fires first when time runs on (§1.5).</summary>
    [Theory]
    [MemberData(nameof(Configs))]
    public void EachStateHasTheRightFirstTimer(SessionMatrixTests.Config config)
    {
        SessionHarness h = SessionMatrixTests.Reach(config);
        ulong v = h.Record.StateVersion;
        ReasonCode? first = null;
        for (int i = 0; i < 40_000 && first is null; i++)
        {
            if (h.Advance(1).Kind == SessionOutcomeKind.Transitioned)
            {
                first = h.Audit.Last(a => a.Type == AuditEventType.StateChange).Reason;
            }
        }
        ReasonCode? expected = config switch
        {
            SessionMatrixTests.Config.Birth => ReasonCode.HandshakeFail,
            SessionMatrixTests.Config.Attached => null, // only the 8 h lifetime, beyond this loop
            SessionMatrixTests.Config.Volatile => ReasonCode.VolatilePersisted,
            SessionMatrixTests.Config.DegradedBound => null,
            SessionMatrixTests.Config.Recovering => ReasonCode.RecoveryBoundsExceeded,
            SessionMatrixTests.Config.DegradedUnbound => ReasonCode.TransportLossTtlExpired,
            _ => null,
        };
        Assert.Equal(expected, first);
        Assert.Equal(v + (first is null ? 0UL : 1UL), h.Record.StateVersion);

        // And the lifetime ends every non-terminal state.
        h.Now = h.Record.CreatedMs + h.Record.Policy.MaxLifetimeMs + 1;
        h.Apply(SessionEvent.Tick());
        Assert.Equal(SessionState.Terminated, h.Record.State);
    }
}
