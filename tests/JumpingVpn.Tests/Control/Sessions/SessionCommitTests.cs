using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>
/// <see cref="SessionSlot.ApplyCommitted"/>: a transition counts only when the store's compare-and-swap
/// takes it; a refused commit leaves the record byte-for-byte as it was and removes the attempt's events
/// (nothing committed locally, docs/session-spec.md §5.2.3 "fail closed").
/// </summary>
public sealed class SessionCommitTests
{
    private sealed class Committer(ReasonCode answer) : ISessionCommitter
    {
        public List<(ulong Read, ulong Written)> Calls { get; } = [];

        public ReasonCode Answer { get; set; } = answer;

        public ReasonCode Commit(SessionRecord committed, ulong readVersion)
        {
            Calls.Add((readVersion, committed.StateVersion));
            return Answer;
        }
    }

    private static SessionSlot Attached(out List<AuditEvent> audit)
    {
        audit = [];
        var slot = new SessionSlot(SessionHarness.Id, SessionPolicy.Default, 1_000, audit);
        slot.Apply(SessionEvent.HandshakeConfirmed(SessionHarness.A, 1), 1_000, audit);
        return slot;
    }

    [Theory]
    [InlineData(ReasonCode.StoreUnavailable)]
    [InlineData(ReasonCode.StaleStateVersion)]
    [InlineData(ReasonCode.OwnershipConflict)]
    public void A_refused_reattach_is_rolled_back_completely_and_answered_with_the_store_reason(ReasonCode refusal)
    {
        SessionSlot slot = Attached(out List<AuditEvent> audit);
        slot.Apply(SessionEvent.Internal(SessionEventKind.TransportDead), 2_000, audit);
        SessionSnapshot before = slot.Snapshot();
        int events = audit.Count;
        var store = new Committer(refusal);

        SessionOutcome o = slot.ApplyCommitted(SessionEvent.Reattach(SessionHarness.B, 2, 1, ReasonCode.TransportDeadRecovery), 2_500, audit, store);

        Assert.Equal((SessionOutcomeKind.Rejected, refusal), (o.Kind, o.Reason));
        Assert.Equal(before, slot.Snapshot()); // every field, including ctrl_seq window, bucket and switch ring
        Assert.Equal(events, audit.Count);
        Assert.Equal([(2UL, 3UL)], store.Calls);

        // The same request is accepted once the store takes it: the refusal consumed nothing.
        store.Answer = ReasonCode.None;
        SessionOutcome ok = slot.ApplyCommitted(SessionEvent.Reattach(SessionHarness.B, 2, 1, ReasonCode.TransportDeadRecovery), 2_600, audit, store);
        Assert.Equal(SessionOutcomeKind.Transitioned, ok.Kind);
        Assert.Equal(3UL, slot.Snapshot().StateVersion);
        Assert.Equal(SessionHarness.B, slot.Snapshot().Binding);
    }

    [Fact]
    public void Timer_transitions_wait_for_the_store_and_inputs_that_change_nothing_never_call_it()
    {
        SessionSlot slot = Attached(out List<AuditEvent> audit);
        var store = new Committer(ReasonCode.StoreUnavailable);
        slot.ApplyCommitted(SessionEvent.Keepalive(5), 1_100, audit, store);
        slot.ApplyCommitted(SessionEvent.Tick(), 1_200, audit, store);
        Assert.Empty(store.Calls);

        // A due timer (session lifetime) is refused while the store is away, and fires once it answers.
        long late = 1_000 + SessionPolicy.Default.MaxLifetimeMs + 1;
        slot.ApplyCommitted(SessionEvent.Tick(), late, audit, store);
        Assert.Equal(SessionState.Attached, slot.Snapshot().State);
        store.Answer = ReasonCode.None;
        slot.ApplyCommitted(SessionEvent.Tick(), late + 50, audit, store);
        Assert.Equal(SessionState.Terminated, slot.Snapshot().State);
        Assert.Equal(2UL, slot.Snapshot().StateVersion);
        Assert.Single(audit, e => e.Type == AuditEventType.SessionTerminated);
    }

    [Fact]
    public void A_restored_record_continues_with_the_same_id_versions_binding_and_replay_high_water()
    {
        var restored = new SessionSlot(SessionRecord.Restore(SessionHarness.Id, SessionPolicy.Default, 500, SessionState.Attached, 7, 6,
            SessionHarness.A, -1, 3, 40, ReasonCode.ReattachSuccess, 1_000));
        SessionSnapshot s = restored.Snapshot();
        Assert.Equal((SessionHarness.Id, SessionState.Attached, 7UL, 6UL, (TransportAddress?)SessionHarness.A, 40UL, 3),
            (s.Id, s.State, s.StateVersion, s.BoundAtVersion, s.Binding, s.CtrlSeqHighWater, s.TotalSwitches));
        var audit = new List<AuditEvent>();
        restored.Apply(SessionEvent.Internal(SessionEventKind.TransportDead) with { Reason = ReasonCode.OwnerFailover }, 1_000, audit);
        Assert.Contains(audit, e => e.Type == AuditEventType.StateChange && e.StateVersion == 8 && e.Detail == ReasonCode.OwnerFailover);
        // A request the old owner already consumed stays refused.
        SessionOutcome replay = restored.Apply(SessionEvent.Reattach(SessionHarness.B, 40, 6, ReasonCode.TransportDeadRecovery), 1_100, audit);
        Assert.Equal(ReasonCode.ReplayDetected, replay.Reason);
    }
    [Fact]
    public void A_committed_transition_refreshes_the_lock_free_summary_the_sweep_reads()
    {
        SessionSlot slot = Attached(out List<AuditEvent> audit);
        var store = new Committer(ReasonCode.None);
        Assert.True(slot.WatchesTransport);
        slot.ApplyCommitted(SessionEvent.Internal(SessionEventKind.TransportDead), 2_000, audit, store);
        Assert.Equal(SessionState.Recovering, slot.Snapshot().State);
        // Unbound: no transport watch any more, and the recovery window's end is the next due time.
        Assert.False(slot.WatchesTransport);
        Assert.Equal(2_000 + SessionPolicy.Default.RecoveryWindowMs + 1, slot.NextDueMs);
        slot.ApplyCommitted(SessionEvent.Internal(SessionEventKind.OperatorTerminate), 2_100, audit, store);
        Assert.True(slot.IsTerminated);
    }

    [Fact]
    public void A_keepalive_applies_without_a_commit_only_while_nothing_is_due_and_the_slot_is_free()
    {
        SessionSlot slot = Attached(out List<AuditEvent> audit);
        Assert.True(slot.TryApplyUncommitted(SessionEvent.Keepalive(5), 1_100, audit, out SessionOutcome o));
        Assert.Equal((SessionOutcomeKind.Accepted, 1UL), (o.Kind, o.StateVersion));
        Assert.True(slot.TryApplyUncommitted(SessionEvent.PathProbe(SessionHarness.B, 6), 1_200, audit, out _));

        // At the session's lifetime the input would fire T12, a transition for the store: not here.
        long late = 1_000 + SessionPolicy.Default.MaxLifetimeMs + 1;
        Assert.False(slot.TryApplyUncommitted(SessionEvent.Keepalive(7), late, audit, out _));
        Assert.Equal((SessionState.Attached, 1UL), (slot.Snapshot().State, slot.Snapshot().StateVersion));

        // While another thread holds the slot (a commit waiting for the store), it returns at once.
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() => slot.ApplyCommitted(SessionEvent.Internal(SessionEventKind.TransportDead), 1_300, null, new Blocking(held, release)));
        holder.Start();
        Assert.True(held.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.False(slot.TryApplyUncommitted(SessionEvent.Keepalive(9), 1_300, audit, out _));
        Assert.False(slot.TryTakeRebindHint(SessionHarness.B, 1_300, out _));
        release.Set();
        holder.Join();
        Assert.Throws<ArgumentException>(() => slot.TryApplyUncommitted(SessionEvent.Tick(), 1_400, audit, out _));
    }

    /// <summary>A store that answers only when released: holds the slot's lock inside the commit.</summary>
    private sealed class Blocking(ManualResetEventSlim held, ManualResetEventSlim release) : ISessionCommitter
    {
        public ReasonCode Commit(SessionRecord committed, ulong readVersion)
        {
            held.Set();
            release.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            return ReasonCode.None;
        }
    }
}
