using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>The hot path allocates nothing: frame parsing, and Apply for keepalives, probes and reattaches.</summary>
public sealed class AllocationTests
{
    [Fact]
    public void ParsingAndApplyingAllocateNothing()
    {
        byte[] keepalive = new byte[KeepaliveFrame.Size];
        new KeepaliveFrame(1, 2, 3, 4).Write(keepalive);
        byte[] reattach = new byte[ReattachRequestFrame.Size + 12];
        new ReattachRequestFrame(SessionHarness.Id, 9, 1, ReasonCode.NatRebind, 1, 5).Write(reattach);
        var record = SessionMachine.Create(SessionHarness.Id, SessionPolicy.Default, 0, null);
        SessionMachine.Apply(record, SessionEvent.HandshakeConfirmed(SessionHarness.A), 0, null);
        var audit = new List<AuditEvent>(64);

        // Warm up (JIT, static tables) before measuring.
        Assert.Equal(0, Run(0));
        int pass = 1;
        int failures = 0;
        SteadyState.AllocatesNothing(() => failures += Run(pass++), rounds: 1, warmup: 0);
        Assert.Equal(0, failures);

        // No asserts inside: xunit's Assert allocates. Count what went wrong instead.
        int Run(int pass)
        {
            int bad = 0;
            for (int i = 0; i < 100; i++)
            {
                ulong seq = (ulong)((pass * 100 + i) * 4 + 1);
                long now = (pass * 100 + i) * 10_000L;
                bad += KeepaliveFrame.TryParse(keepalive, out _) ? 0 : 1;
                bad += ReattachRequestFrame.TryParse(reattach, out ReattachRequestFrame rq) ? 0 : 1;
                bad += HelloFrame.TryParse(reattach, out _) ? 1 : 0;
                bad += SessionMachine.Apply(record, SessionEvent.Keepalive(seq), now, null).Kind == SessionOutcomeKind.Accepted ? 0 : 1;
                bad += SessionMachine.Apply(record, SessionEvent.PathProbe(SessionHarness.C, seq + 1), now, null).Kind == SessionOutcomeKind.Accepted ? 0 : 1;
                TransportAddress to = i % 2 == 0 ? SessionHarness.B : SessionHarness.A;
                SessionOutcome o = SessionMachine.Apply(record, SessionEvent.Reattach(to, seq + 2, record.StateVersion, rq.SwitchReason), now, audit);
                bad += o.Reason == ReasonCode.ReattachSuccess ? 0 : 1;
                audit.Clear();
            }
            return bad;
        }
    }
}
