using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>
/// <see cref="SessionMachine.NextDeadlineMs"/> lets the sweep skip sessions. It must never be
/// late: a Tick one ms before it changes nothing, in every state that has a timer.
/// </summary>
public sealed class SessionDeadlineTests
{
    private static void AssertNothingFiresBeforeDeadline(SessionHarness h)
    {
        long due = SessionMachine.NextDeadlineMs(h.Record);
        SessionSnapshot before = h.Record.Snapshot();
        h.Now = due - 1;
        Assert.Equal(0, SessionMachine.FireDueTimers(h.Record, h.Now, h.Audit));
        Assert.Equal(before, h.Record.Snapshot());
    }

    [Fact]
    public void BirthWaitsForTheHandshakeTimeout()
    {
        var h = new SessionHarness();
        Assert.Equal(h.Record.CreatedMs + h.Record.Policy.HandshakeTimeoutMs + 1, SessionMachine.NextDeadlineMs(h.Record));
        AssertNothingFiresBeforeDeadline(h);
        h.Now += 1;
        Assert.Equal(SessionState.Terminated, (h.Apply(SessionEvent.Tick()), h.Record.State).Item2);
    }

    [Fact]
    public void AttachedWaitsForMaxLifetimeOnly()
    {
        var h = new SessionHarness().Attach();
        Assert.Equal(h.Record.CreatedMs + h.Record.Policy.MaxLifetimeMs + 1, SessionMachine.NextDeadlineMs(h.Record));
        Assert.True(SessionMachine.WatchesTransport(h.Record));
        AssertNothingFiresBeforeDeadline(h);
    }

    [Fact]
    public void EachTimerStateIsWokenExactlyWhenItFires()
    {
        var h = new SessionHarness().Attach();
        h.Apply(SessionEvent.Internal(SessionEventKind.TransportDead));
        Assert.False(SessionMachine.WatchesTransport(h.Record));
        // RECOVERING: the recovery window, then (DEGRADED, unbound) the transport-loss TTL, then the tombstone.
        foreach (SessionState expected in new[] { SessionState.Degraded, SessionState.Terminated })
        {
            AssertNothingFiresBeforeDeadline(h);
            h.Now += 1;
            h.Apply(SessionEvent.Tick());
            Assert.Equal(expected, h.Record.State);
        }
        Assert.Equal(h.Record.LastTransitionMs + h.Record.Policy.TombstoneTtlMs + 1, SessionMachine.NextDeadlineMs(h.Record));
    }

    [Fact]
    public void VolatileAndBoundDegradedHaveTheirOwnDeadlines()
    {
        var policy = SessionPolicy.Default with { DegradedMaxMs = 60_000 };
        var h = new SessionHarness(policy).Attach();
        h.Apply(SessionEvent.QualityViolation(ReasonCode.None));
        Assert.Equal(SessionState.Volatile, h.Record.State);
        AssertNothingFiresBeforeDeadline(h);
        h.Now += 1;
        h.Apply(SessionEvent.Tick());
        Assert.Equal(SessionState.Degraded, h.Record.State);
        Assert.NotNull(h.Record.Binding);
        AssertNothingFiresBeforeDeadline(h);
        h.Now += 1;
        h.Apply(SessionEvent.Tick());
        Assert.Equal(SessionState.Terminated, h.Record.State);
    }

    [Fact]
    public void SlotCachesTheDeadlineAfterEveryApply()
    {
        var audit = new List<AuditEvent>();
        var slot = new SessionSlot(SessionHarness.Id, SessionPolicy.Default, 1_000, audit);
        Assert.False(slot.WatchesTransport);
        Assert.Equal(1_000 + SessionPolicy.Default.HandshakeTimeoutMs + 1, slot.NextDueMs);
        slot.Apply(SessionEvent.HandshakeConfirmed(SessionHarness.A, 0), 1_500, audit);
        Assert.True(slot.WatchesTransport);
        Assert.Equal(1_000 + SessionPolicy.Default.MaxLifetimeMs + 1, slot.NextDueMs);
        slot.Apply(SessionEvent.ClientTerminate(1), 2_000, audit);
        Assert.True(slot.IsTerminated);
        Assert.Equal(2_000 + SessionPolicy.Default.TombstoneTtlMs + 1, slot.NextDueMs);
    }
}
