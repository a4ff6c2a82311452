using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>
/// docs/session-spec.md I24 / §1.4: every (state, event) pair. Legal pairs make exactly the table's transition
/// (+1 version, one STATE_CHANGE with the row's reason); telemetry no-ops change nothing; every other pair
/// is rejected without mutation.
/// </summary>
public sealed class SessionMatrixTests
{
    public enum Config { Birth, Attached, Volatile, DegradedBound, DegradedUnbound, Recovering, Terminated }

    internal static SessionHarness Reach(Config config)
    {
        var h = new SessionHarness();
        switch (config)
        {
            case Config.Birth:
                break;
            case Config.Attached:
                h.Attach();
                break;
            case Config.Volatile:
                h.Attach().Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
                break;
            case Config.DegradedBound:
                h.Attach().Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
                h.Advance(4_001);
                break;
            case Config.Recovering:
                h.Attach().Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
                break;
            case Config.DegradedUnbound:
                h.Attach().Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
                h.Advance(8_001);
                break;
            case Config.Terminated:
                h.Attach().Apply(SessionEvent.Internal(SessionEventKind.OperatorTerminate));
                break;
        }
        h.Now += 10;
        return h;
    }

    internal static SessionState StateOf(Config c) => c switch
    {
        Config.Birth => SessionState.Birth,
        Config.Attached => SessionState.Attached,
        Config.Volatile => SessionState.Volatile,
        Config.DegradedBound or Config.DegradedUnbound => SessionState.Degraded,
        Config.Recovering => SessionState.Recovering,
        _ => SessionState.Terminated,
    };

    private static SessionEvent EventFor(SessionEventKind kind, SessionHarness h) => kind switch
    {
        SessionEventKind.HandshakeConfirmed => SessionEvent.HandshakeConfirmed(SessionHarness.A, 0),
        SessionEventKind.QualityViolation => SessionEvent.QualityViolation(ReasonCode.HeartbeatTimeout),
        SessionEventKind.ClientTerminate => SessionEvent.ClientTerminate(h.NextSeq++),
        SessionEventKind.ReattachRequest => SessionEvent.Reattach(SessionHarness.C, h.NextSeq++, h.Record.StateVersion, ReasonCode.TransportDeadRecovery),
        SessionEventKind.Keepalive => SessionEvent.Keepalive(h.NextSeq++),
        SessionEventKind.PathProbe => SessionEvent.PathProbe(SessionHarness.C, h.NextSeq++),
        _ => SessionEvent.Internal(kind),
    };

    /// <summary>The table: (to, reason) for a transition, (null, None) for an accepted no-op, (null, code) for a rejection.</summary>
    private static (SessionState? To, ReasonCode Reason) Expected(Config c, SessionEventKind kind)
    {
        if (c == Config.Terminated)
        {
            return (null, ReasonCode.SessionTerminated);
        }
        const ReasonCode Illegal = ReasonCode.InvalidStateTransition;
        bool bound = c is Config.Attached or Config.Volatile or Config.DegradedBound;
        return kind switch
        {
            SessionEventKind.HandshakeConfirmed => c == Config.Birth ? (SessionState.Attached, ReasonCode.HandshakeOk) : (null, Illegal),
            SessionEventKind.QualityViolation => c switch
            {
                Config.Attached => (SessionState.Volatile, ReasonCode.QualityThresholdExceeded),
                Config.Volatile or Config.DegradedBound or Config.DegradedUnbound => (null, ReasonCode.None),
                _ => (null, Illegal),
            },
            SessionEventKind.StabilityRestored => c switch
            {
                Config.Volatile => (SessionState.Attached, ReasonCode.HealthRecovered),
                Config.DegradedBound => (SessionState.Attached, ReasonCode.ExitDegradedMode),
                Config.Attached => (null, ReasonCode.None),
                _ => (null, Illegal),
            },
            SessionEventKind.TransportDead => bound ? (SessionState.Recovering, ReasonCode.TransportDead) : (null, Illegal),
            SessionEventKind.KeyExpired => (SessionState.Terminated, ReasonCode.KeyExpired),
            SessionEventKind.OwnershipConflict => (SessionState.Terminated, ReasonCode.OwnershipConflict),
            SessionEventKind.InvariantViolation => (SessionState.Terminated, ReasonCode.FatalProtocolError),
            SessionEventKind.OperatorTerminate => (SessionState.Terminated, ReasonCode.OperatorTerminated),
            SessionEventKind.SecurityViolation => (SessionState.Terminated, ReasonCode.SecurityFailure),
            SessionEventKind.ClientTerminate => (SessionState.Terminated, ReasonCode.ClientTerminated),
            SessionEventKind.ReattachRequest => c == Config.Birth ? (null, ReasonCode.InvalidStateForReattach) : (SessionState.Attached, ReasonCode.ReattachSuccess),
            SessionEventKind.Keepalive or SessionEventKind.PathProbe => c == Config.Birth ? (null, Illegal) : (null, ReasonCode.None),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    public static TheoryData<Config, SessionEventKind> Pairs()
    {
        var data = new TheoryData<Config, SessionEventKind>();
        foreach (Config c in Enum.GetValues<Config>())
        {
            foreach (SessionEventKind k in Enum.GetValues<SessionEventKind>())
            {
                if (k != SessionEventKind.Tick)
                {
                    data.Add(c, k);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void EveryStateEventPairFollowsTheTable(Config config, SessionEventKind kind)
    {
        SessionHarness h = Reach(config);
        Assert.Equal(StateOf(config), h.Record.State);
        Assert.Equal(config == Config.DegradedBound, config is Config.DegradedBound or Config.DegradedUnbound && h.Record.Binding.HasValue);
        SessionSnapshot before = h.Record.Snapshot();
        int auditBefore = h.Audit.Count;

        SessionOutcome outcome = h.Apply(EventFor(kind, h));

        var (to, reason) = Expected(config, kind);
        var changes = h.Audit.Skip(auditBefore).Where(a => a.Type == AuditEventType.StateChange).ToList();
        if (to is SessionState target)
        {
            Assert.Equal(SessionOutcomeKind.Transitioned, outcome.Kind);
            Assert.Equal(target, h.Record.State);
            Assert.Equal(before.StateVersion + 1, h.Record.StateVersion);
            AuditEvent change = Assert.Single(changes);
            Assert.Equal(reason, change.Reason);
            Assert.Equal(h.Record.StateVersion, change.StateVersion);
            Assert.Equal(StateOf(config), change.PreviousState);
            Assert.Equal(target, change.NewState);
            Assert.True(SessionMachine.BindingMatchesState(h.Record));
            Assert.Equal(target == SessionState.Terminated ? 1 : 0,
                h.Audit.Skip(auditBefore).Count(a => a.Type == AuditEventType.SessionTerminated));
        }
        else
        {
            Assert.Empty(changes);
            Assert.Equal(before.StateVersion, h.Record.StateVersion);
            Assert.Equal(reason == ReasonCode.None ? SessionOutcomeKind.Accepted : SessionOutcomeKind.Rejected, outcome.Kind);
            Assert.Equal(reason, outcome.Reason);
            // A refused or telemetry-only input leaves the FSM exactly as it was; internal events leave
            // even the counters alone.
            Assert.Equal(before.FsmOnly(), h.Record.Snapshot().FsmOnly());
            if (!EventFor(kind, h).IsFromPeer)
            {
                Assert.Equal(before, h.Record.Snapshot());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void UnauthenticatedPeerInputChangesNothing(Config config, SessionEventKind kind)
    {
        SessionHarness h = Reach(config);
        SessionEvent e = EventFor(kind, h) with { Authenticated = false };
        if (!e.IsFromPeer)
        {
            return;
        }
        SessionSnapshot before = h.Record.Snapshot();
        SessionOutcome outcome = h.Apply(e);
        Assert.Equal(SessionOutcomeKind.Rejected, outcome.Kind);
        Assert.Equal(before, h.Record.Snapshot());
    }
}
