using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>REATTACH validation (docs/session-spec.md §2.4), version window (§1.7) and the three limiters (§2.7).</summary>
public sealed class ReattachTests
{
    private static SessionHarness Recovering()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Now += 100;
        return h;
    }

    [Fact]
    public void NatRebindStoryMovesTheBindingWithContiguousVersions()
    {
        var h = new SessionHarness().Attach();
        h.Now += 5_000;
        SessionOutcome o = h.Reattach(SessionHarness.B, ReasonCode.NatRebind, lastAcked: 1);
        Assert.Equal((SessionOutcomeKind.Transitioned, ReasonCode.ReattachSuccess, 2UL), (o.Kind, o.Reason, o.StateVersion));
        Assert.Equal(SessionHarness.B, h.Record.Binding);
        Assert.Equal(2UL, h.Record.BoundAtVersion);
        AuditEvent sw = Assert.Single(h.Of(AuditEventType.TransportSwitch));
        Assert.Equal((SessionHarness.A, SessionHarness.B, ReasonCode.NatRebind), (sw.PreviousTransport, sw.NewTransport!.Value, sw.Detail));
        Assert.Equal([0UL, 1UL, 2UL], h.Audit.Where(a => a.Type is AuditEventType.StateChange or AuditEventType.SessionCreated).Select(a => a.StateVersion));
    }

    [Fact]
    public void VersionWindowAcceptsBoundAtThroughCurrent()
    {
        // bound_at = 1, then server-side timers move the version to 3 while the client is cut off: any
        // v in [1, 3] is accepted (S16), so timers never lock the client out.
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Advance(8_001);
        Assert.Equal(3UL, h.Record.StateVersion);
        foreach (ulong v in new ulong[] { 0, 4, 99 })
        {
            SessionSnapshot before = h.Record.Snapshot();
            Assert.Equal(ReasonCode.StaleStateVersion, h.Reattach(SessionHarness.B, lastAcked: v).Reason);
            Assert.Equal(before.FsmOnly(), h.Record.Snapshot().FsmOnly());
        }
        Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(SessionHarness.B, lastAcked: 1).Reason);
        // The same client racing itself with the old version now loses: someone rebound since.
        Assert.Equal(ReasonCode.StaleStateVersion, h.Reattach(SessionHarness.C, lastAcked: 3).Reason);
    }

    [Fact]
    public void ReplayedRequestIsRejectedWithoutChangeAndReported()
    {
        var h = Recovering();
        var request = SessionEvent.Reattach(SessionHarness.B, 5, 1, ReasonCode.TransportDeadRecovery);
        Assert.Equal(ReasonCode.ReattachSuccess, h.Apply(request).Reason);
        h.Now += 10_000;
        SessionSnapshot before = h.Record.Snapshot();
        // The captured bytes resent from another address (the attacker's).
        SessionOutcome replay = h.Apply(request with { Source = SessionHarness.C });
        Assert.Equal(ReasonCode.ReplayDetected, replay.Reason);
        Assert.Equal(before.FsmOnly(), h.Record.Snapshot().FsmOnly());
        Assert.Contains(h.Audit, a => a.Type == AuditEventType.SecurityEvent && a.Reason == ReasonCode.ReplayDetected);
    }

    [Fact]
    public void ForwardGapIsBounded()
    {
        var h = Recovering();
        // High-water is 0 after the handshake: 256 ahead is the furthest allowed.
        Assert.Equal(ReasonCode.FreshnessInvalid, h.Apply(SessionEvent.Reattach(SessionHarness.B, 257, 1, ReasonCode.NatRebind)).Reason);
        Assert.Equal(ReasonCode.ReattachSuccess, h.Apply(SessionEvent.Reattach(SessionHarness.B, 256, 1, ReasonCode.NatRebind)).Reason);
    }

    [Fact]
    public void ForgedHugeSequenceDoesNotBurnTheCounter()
    {
        // I15: an unauthenticated request with seq near 2^64 must not move the high-water mark, or the
        // legitimate client could never reattach again.
        var h = Recovering();
        SessionSnapshot before = h.Record.Snapshot();
        Assert.Equal(ReasonCode.FreshnessInvalid, h.Apply(SessionEvent.Reattach(SessionHarness.C, ulong.MaxValue, 1, ReasonCode.NatRebind, authenticated: false)).Reason);
        Assert.Equal(ReasonCode.AuthFail, h.Apply(SessionEvent.Reattach(SessionHarness.C, 200, 1, ReasonCode.NatRebind, authenticated: false)).Reason);
        Assert.Equal(before, h.Record.Snapshot());
        Assert.Equal(ReasonCode.ReattachSuccess, h.Apply(SessionEvent.Reattach(SessionHarness.B, 2, 1, ReasonCode.NatRebind)).Reason);
    }

    [Fact]
    public void DeniedAuthenticatedRequestConsumesItsSequence()
    {
        var h = Recovering();
        var stale = SessionEvent.Reattach(SessionHarness.B, 7, 0, ReasonCode.NatRebind);
        Assert.Equal(ReasonCode.StaleStateVersion, h.Apply(stale).Reason);
        Assert.Equal(7UL, h.Record.CtrlSeqHighWater);
        Assert.Equal(ReasonCode.ReplayDetected, h.Apply(stale with { LastAckedVersion = 1 }).Reason);
    }

    [Fact]
    public void CooldownAppliesWhileBoundOnly()
    {
        var h = new SessionHarness().Attach();
        h.Now += 10_000;
        Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(SessionHarness.B).Reason);
        h.Now += 1_000;
        SessionOutcome cool = h.Reattach(SessionHarness.C);
        Assert.Equal((ReasonCode.CooldownActive, 500u), (cool.Reason, cool.RetryAfterMs));
        Assert.Single(h.Of(AuditEventType.TransportSwitchDenied));

        // Unbound right after a switch: no cooldown, recovery must be immediate.
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Now += 1;
        Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(SessionHarness.C).Reason);
    }

    [Fact]
    public void CooldownDoublesInDegradedWhileBound()
    {
        var h = new SessionHarness().Attach();
        h.Now += 10_000;
        h.Reattach(SessionHarness.B);
        h.Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
        h.Now += 2_000;
        h.Apply(SessionEvent.Tick());
        h.Now += 2_001;
        h.Apply(SessionEvent.Tick());
        Assert.Equal(SessionState.Degraded, h.Record.State);
        h.Now = h.Record.LastSwitchMs + 2_999;
        Assert.Equal(ReasonCode.CooldownActive, h.Reattach(SessionHarness.C).Reason);
        h.Now = h.Record.LastSwitchMs + 3_000;
        Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(SessionHarness.C).Reason);
    }

    [Fact]
    public void SwitchCapFromRecoveringGoesDegradedAndFromAttachedOnlyDenies()
    {
        var h = new SessionHarness().Attach();
        TransportAddress[] paths = [SessionHarness.B, SessionHarness.C];
        for (int i = 0; i < 8; i++)
        {
            h.Now += 3_000; // past the 2.5 s bucket refill and the 1.5 s cooldown
            Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(paths[i % 2]).Reason);
        }
        h.Now += 3_000;
        SessionSnapshot before = h.Record.Snapshot();
        SessionOutcome denied = h.Reattach(paths[0]);
        Assert.Equal((SessionOutcomeKind.Rejected, ReasonCode.SwitchRateLimited), (denied.Kind, denied.Reason));
        Assert.Equal(before.StateVersion, h.Record.StateVersion); // ATTACHED: deny only
        Assert.True(denied.RetryAfterMs > 0);

        // The sliding window: once the oldest switch is 60 s old, one more is allowed.
        h.Now += denied.RetryAfterMs - 1;
        Assert.Equal(ReasonCode.SwitchRateLimited, h.Reattach(paths[0]).Reason);
        h.Now += 1;
        Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(paths[0]).Reason);

        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        h.Now += 10; // unbound: no cooldown, but the cap still holds
        ulong v = h.Record.StateVersion;
        SessionOutcome t8 = h.Reattach(paths[0], lastAcked: v);
        Assert.Equal(ReasonCode.SwitchRateLimited, t8.Reason);
        Assert.Equal(1, t8.Transitions);
        Assert.Equal(SessionState.Degraded, h.Record.State);
        Assert.Equal(v + 1, h.Record.StateVersion);
        Assert.Null(h.Record.Binding);
        Assert.Single(h.Audit, a => a.Type == AuditEventType.StateChange && a.Reason == ReasonCode.SwitchRateLimited);
    }

    [Fact]
    public void ControlBucketLimitsRequestsAndSaysWhenToRetry()
    {
        var h = Recovering();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(ReasonCode.StaleStateVersion, h.Reattach(SessionHarness.B, lastAcked: 0).Reason);
        }
        SessionOutcome limited = h.Reattach(SessionHarness.B, lastAcked: 1);
        Assert.Equal((ReasonCode.RateLimited, 500u), (limited.Reason, limited.RetryAfterMs));
        h.Now += 500;
        Assert.Equal(ReasonCode.ReattachSuccess, h.Reattach(SessionHarness.B, lastAcked: 1).Reason);
    }

    [Fact]
    public void SameAddressAndDisallowedMigrationAndBadReasonAreDenied()
    {
        var h = new SessionHarness().Attach();
        Assert.Equal(ReasonCode.InvalidTransportCandidate, h.Reattach(SessionHarness.A).Reason);
        Assert.Equal(ReasonCode.MalformedMessage, h.Reattach(SessionHarness.B, ReasonCode.AuthFail).Reason);

        var strict = new SessionHarness(SessionPolicy.Default with { AllowPlannedMigration = false }).Attach();
        Assert.Equal(ReasonCode.PolicyDeny, strict.Reattach(SessionHarness.B).Reason);
        strict.Apply(SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded));
        Assert.Equal(ReasonCode.ReattachSuccess, strict.Reattach(SessionHarness.B, lastAcked: 1).Reason);
    }

    [Fact]
    public void ClientTerminateNeedsAFreshSequence()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Keepalive(10));
        Assert.Equal(ReasonCode.ReplayDetected, h.Apply(SessionEvent.ClientTerminate(10)).Reason);
        Assert.Equal(SessionState.Attached, h.Record.State);
        Assert.Equal(ReasonCode.ClientTerminated, h.Apply(SessionEvent.ClientTerminate(11)).Reason);
        Assert.Equal(SessionState.Terminated, h.Record.State);
    }

    [Fact]
    public void KeepalivesTolerateReorderingInsideTheWindowOnly()
    {
        var h = new SessionHarness().Attach();
        Assert.Equal(SessionOutcomeKind.Accepted, h.Apply(SessionEvent.Keepalive(200)).Kind);
        Assert.Equal(SessionOutcomeKind.Accepted, h.Apply(SessionEvent.Keepalive(150)).Kind);
        Assert.Equal(ReasonCode.ReplayDetected, h.Apply(SessionEvent.Keepalive(150)).Reason);
        Assert.Equal(ReasonCode.ReplayDetected, h.Apply(SessionEvent.Keepalive(200 - 128)).Reason);
        Assert.Equal(SessionOutcomeKind.Accepted, h.Apply(SessionEvent.Keepalive(200 - 127)).Kind);
        Assert.Equal(ReasonCode.FreshnessInvalid, h.Apply(SessionEvent.Keepalive(200 + 257)).Reason);
        Assert.Equal(SessionOutcomeKind.Accepted, h.Apply(SessionEvent.PathProbe(SessionHarness.C, 201)).Kind);
        Assert.Equal(SessionHarness.A, h.Record.Binding); // a probe never binds
        Assert.Equal(1UL, h.Record.StateVersion);
    }
}

public sealed class RebindHintTests
{
    [Fact]
    public void HintsGoToUnboundAddressesRateLimitedAndNeverRebind()
    {
        var h = new SessionHarness();
        Assert.False(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.B, h.Now)); // BIRTH: no session layer yet
        h.Attach();
        SessionSnapshot before = h.Record.Snapshot();
        Assert.False(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.A, h.Now)); // the binding itself
        Assert.True(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.B, h.Now));
        Assert.False(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.B, h.Now + 249));
        Assert.True(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.B, h.Now + 250));
        Assert.Equal(before.FsmOnly(), h.Record.Snapshot().FsmOnly());
        Assert.Equal(SessionHarness.A, h.Record.Binding);

        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        Assert.True(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.A, h.Now + 1_000)); // unbound: any address
    }

    [Fact]
    public void A_new_unbound_address_is_hinted_after_a_short_floor_not_a_whole_interval()
    {
        // A stray packet from one address must not delay the hint for the address the NAT really moved
        // to by a whole interval (that interval would add to the rebinding gap).
        var h = new SessionHarness().Attach();
        Assert.True(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.B, h.Now));
        Assert.False(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.C, h.Now + SessionMachine.RebindHintNewAddressFloorMs - 1));
        Assert.True(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.C, h.Now + SessionMachine.RebindHintNewAddressFloorMs));
        Assert.False(SessionMachine.ShouldSendRebindHint(h.Record, SessionHarness.C, h.Now + 100)); // same address again: full interval
    }
}
