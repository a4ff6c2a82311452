using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>docs/session-spec.md I3/I6/TS10: racing valid reattaches for one session resolve to exactly one winner.</summary>
public sealed class SessionConcurrencyTests
{
    [Fact]
    public async Task RacingReattachesHaveExactlyOneWinnerPerVersion()
    {
        const int Threads = 8;
        const int Rounds = 40;
        var slot = new SessionSlot(SessionHarness.Id, SessionPolicy.Default, 0, null);
        var bystanderId = SessionId.Read([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
        var bystander = new SessionSlot(bystanderId, SessionPolicy.Default, 0, null);
        Assert.Equal(SessionOutcomeKind.Transitioned, slot.Apply(SessionEvent.HandshakeConfirmed(SessionHarness.A), 0, null).Kind);
        Assert.Equal(SessionOutcomeKind.Transitioned, bystander.Apply(SessionEvent.HandshakeConfirmed(SessionHarness.A), 0, null).Kind);
        ulong bystanderSeq = 0;

        for (int round = 0; round < Rounds; round++)
        {
            long now = (round + 1) * 8_000L; // past cooldown, bucket refill, and the 8/min cap
            ulong version = slot.Snapshot().StateVersion;
            using var start = new Barrier(Threads + 1);
            var outcomes = new SessionOutcome[Threads];
            var tasks = new Task[Threads + 1];
            for (int t = 0; t < Threads; t++)
            {
                int index = t;
                var from = new TransportAddress((UInt128)(0xffff_c000_0200UL) << 32 | (uint)(round * Threads + index), (ushort)(40_000 + index));
                ulong seq = (ulong)(round * Threads + index + 1);
                tasks[t] = Task.Factory.StartNew(() =>
                {
                    start.SignalAndWait();
                    outcomes[index] = slot.Apply(SessionEvent.Reattach(from, seq, version, ReasonCode.PreferredPathChanged), now, null);
                }, TaskCreationOptions.LongRunning);
            }
            ulong seqBase = bystanderSeq;
            tasks[Threads] = Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                for (int k = 1; k <= 20; k++)
                {
                    Assert.Equal(SessionOutcomeKind.Accepted, bystander.Apply(SessionEvent.Keepalive(seqBase + (ulong)k), now, null).Kind);
                }
            }, TaskCreationOptions.LongRunning);
            bystanderSeq += 20;

            // A deadlock shows up as a TimeoutException here.
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Equal(1, outcomes.Count(o => o.Kind == SessionOutcomeKind.Transitioned));
            Assert.All(outcomes.Where(o => o.Kind != SessionOutcomeKind.Transitioned), o =>
                Assert.Contains(o.Reason, new[] { ReasonCode.StaleStateVersion, ReasonCode.ReplayDetected, ReasonCode.RateLimited }));
            SessionSnapshot s = slot.Snapshot();
            Assert.Equal(version + 1, s.StateVersion);
            Assert.Equal(s.StateVersion, s.BoundAtVersion);
            Assert.Equal(SessionState.Attached, s.State);
        }

        SessionSnapshot other = bystander.Snapshot();
        Assert.Equal((SessionState.Attached, 1UL, SessionHarness.A), (other.State, other.StateVersion, other.Binding!.Value));
    }
}
