using CsCheck;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>
/// Random event sequences against the single-node invariants of docs/session-spec.md §4: I3 (binding count),
/// I5/I20 (contiguous versions, one STATE_CHANGE per version), I7 (determinism: byte-identical audit),
/// I8/I9 (absorbing TERMINATED, one SESSION_TERMINATED), I12 (switch cap), I15 (unauthenticated input
/// changes nothing), I16 (rejections change nothing but freshness and counters).
/// </summary>
public sealed class SessionPropertyTests
{
    internal readonly record struct Step(int Kind, int DtMs, int Address, int SeqDelta, int VersionDelta, int Auth, int Reason);

    private static readonly Gen<Step> s_step = Gen.Select(Gen.Int[0, 99], Gen.Int[0, 3_000], Gen.Int[0, 2], Gen.Int[-3, 3], Gen.Int[-2, 1], Gen.Int[0, 9], Gen.Int[0, 5])
        .Select((k, dt, a, s, v, auth, r) => new Step(k, dt, a, s, v, auth, r));

    private static readonly TransportAddress[] s_addresses = [SessionHarness.A, SessionHarness.B, SessionHarness.C];

    private static readonly ReasonCode[] s_reasons =
    [
        ReasonCode.NatRebind, ReasonCode.TransportDeadRecovery, ReasonCode.LossRecovery,
        ReasonCode.PreferredPathChanged, ReasonCode.PolicyForced, ReasonCode.AuthFail,
    ];

    private static SessionEvent Materialize(Step s, SessionHarness h)
    {
        ulong seq = (ulong)Math.Max(0L, (long)h.NextSeq + s.SeqDelta);
        if (s.SeqDelta >= 0)
        {
            h.NextSeq = seq + 1;
        }
        ulong version = (ulong)Math.Max(0L, (long)h.Record.StateVersion + s.VersionDelta);
        bool authenticated = s.Auth != 0;
        TransportAddress from = s_addresses[s.Address];
        return s.Kind switch
        {
            < 5 => SessionEvent.Tick(),
            < 12 => SessionEvent.HandshakeConfirmed(from, seq, authenticated),
            < 22 => SessionEvent.QualityViolation(ReasonCode.LossThresholdExceeded),
            < 32 => SessionEvent.Internal(SessionEventKind.StabilityRestored),
            < 42 => SessionEvent.Internal(SessionEventKind.TransportDead),
            < 80 => SessionEvent.Reattach(from, seq, version, s_reasons[s.Reason], authenticated),
            < 88 => SessionEvent.Keepalive(seq, authenticated),
            < 94 => SessionEvent.PathProbe(from, seq, authenticated),
            < 96 => SessionEvent.ClientTerminate(seq, authenticated: authenticated),
            < 97 => SessionEvent.Internal(SessionEventKind.KeyExpired),
            < 98 => SessionEvent.Internal(SessionEventKind.OperatorTerminate),
            < 99 => SessionEvent.Internal(SessionEventKind.SecurityViolation),
            _ => SessionEvent.Internal(SessionEventKind.OwnershipConflict),
        };
    }

    private static string Run(Step[] steps, HashSet<ReasonCode>? reasonsSeen = null)
    {
        var h = new SessionHarness();
        if (steps.Length % 2 == 0)
        {
            h.Attach(); // half the runs start attached, so the sequences reach the later states
        }
        ulong lastVersion = 0;
        foreach (Step step in steps)
        {
            h.Now += step.DtMs;
            h.Apply(SessionEvent.Tick()); // timers first, so the step below is judged on its own
            SessionSnapshot before = h.Record.Snapshot();
            int auditBefore = h.Audit.Count;
            SessionEvent e = Materialize(step, h);

            SessionOutcome o = h.Apply(e);

            SessionSnapshot after = h.Record.Snapshot();
            int changes = h.Audit.Skip(auditBefore).Count(a => a.Type == AuditEventType.StateChange);
            Assert.Equal(after.StateVersion - before.StateVersion, (ulong)changes);
            Assert.Equal(o.Transitions, changes);
            Assert.True(SessionMachine.BindingMatchesState(h.Record), $"I3 broken in {h.Record.State}");
            if (e.IsFromPeer && !e.Authenticated)
            {
                Assert.Equal(before, after); // I15
            }
            if (o.Kind != SessionOutcomeKind.Transitioned && o.Transitions == 0)
            {
                Assert.Equal(before.FsmOnly(), after.FsmOnly()); // I16 (and telemetry no-ops)
            }
            if (before.State == SessionState.Terminated)
            {
                Assert.Equal(before, after); // I8
            }
            Assert.True(h.Record.StateVersion >= lastVersion);
            lastVersion = h.Record.StateVersion;
        }

        // I5/I20: STATE_CHANGE versions are exactly 1, 2, 3, ... in order.
        ulong expected = 1;
        foreach (AuditEvent a in h.Of(AuditEventType.StateChange))
        {
            Assert.Equal(expected++, a.StateVersion);
        }
        Assert.Equal(h.Record.StateVersion, expected - 1);
        // I9
        Assert.Equal(h.Record.State == SessionState.Terminated ? 1 : 0, h.Of(AuditEventType.SessionTerminated).Count());
        // I12: no 60 s window holds more than max_switches_per_min successful switches.
        long[] switches = h.Of(AuditEventType.TransportSwitch).Select(a => a.TsMs).ToArray();
        int cap = h.Record.Policy.MaxSwitchesPerMinute;
        for (int i = 0; i + cap < switches.Length; i++)
        {
            Assert.True(switches[i + cap] - switches[i] >= 60_000, "switch cap exceeded in a sliding minute");
        }
        foreach (AuditEvent a in h.Of(AuditEventType.StateChange))
        {
            reasonsSeen?.Add(a.Reason);
        }
        return h.Jsonl();
    }

    [Fact]
    public void RandomSequencesKeepTheInvariantsAndAreDeterministic()
    {
        var seen = new HashSet<ReasonCode>();
        s_step.Array[1, 120].Sample(steps =>
        {
            string first = Run(steps, seen);
            string second = Run(steps);
            Assert.Equal(first, second); // I7: same input, byte-identical audit
        }, iter: 1_500, threads: 1);
        // The generator must actually reach the interesting rows, or the invariants above prove little.
        foreach (ReasonCode wanted in new[]
        {
            ReasonCode.HandshakeOk, ReasonCode.QualityThresholdExceeded, ReasonCode.TransportDead, ReasonCode.HealthRecovered,
            ReasonCode.ReattachSuccess, ReasonCode.RecoveryBoundsExceeded, ReasonCode.VolatilePersisted,
            ReasonCode.TransportLossTtlExpired, ReasonCode.ClientTerminated,
        })
        {
            Assert.True(seen.Contains(wanted), $"{WireNames.Of(wanted)} never happened; seen: {string.Join(", ", seen.Select(WireNames.Of))}");
        }
    }

    [Fact]
    public void FlappingStressNeverExceedsTheSwitchCap()
    {
        // Mostly valid reattaches, short gaps: the sequence that tries hardest to switch too often.
        var seen = new HashSet<ReasonCode>();
        Gen.Select(Gen.Int[22, 79], Gen.Int[0, 2_000], Gen.Int[0, 2], Gen.Int[0, 4])
            .Select((k, dt, a, r) => new Step(k, dt, a, 0, 0, 1, r))
            .Array[20, 200]
            .Sample(steps =>
            {
                var all = new Step[steps.Length + 1];
                all[0] = new Step(5, 0, 0, 0, 0, 1, 0); // HANDSHAKE first
                steps.CopyTo(all, 1);
                _ = Run(all, seen);
            }, iter: 300, threads: 1);
        Assert.Contains(ReasonCode.SwitchRateLimited, seen); // T8 was actually exercised
    }
}
