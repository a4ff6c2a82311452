using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Sessions;

/// <summary>One session record driven by a fake monotonic clock, with its audit trail.</summary>
internal sealed class SessionHarness
{
    public static readonly TransportAddress A = TransportAddress.Parse("192.0.2.10:40000");
    public static readonly TransportAddress B = TransportAddress.Parse("198.51.100.20:40001");
    public static readonly TransportAddress C = TransportAddress.Parse("[2001:db8::30]:40002");
    public static readonly SessionId Id = SessionId.Read([0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x16]);

    public SessionHarness(SessionPolicy? policy = null, long startMs = 1_000)
    {
        Now = startMs;
        Record = SessionMachine.Create(Id, policy ?? SessionPolicy.Default, Now, Audit);
    }

    public SessionRecord Record { get; }

    public List<AuditEvent> Audit { get; } = [];

    public long Now { get; set; }

    public ulong NextSeq { get; set; } = 1;

    public SessionOutcome Apply(SessionEvent e) => SessionMachine.Apply(Record, e, Now, Audit);

    public SessionOutcome Advance(long ms)
    {
        Now += ms;
        return Apply(SessionEvent.Tick());
    }

    public SessionOutcome Reattach(TransportAddress from, ReasonCode why = ReasonCode.NatRebind, ulong? lastAcked = null, bool authenticated = true) =>
        Apply(SessionEvent.Reattach(from, NextSeq++, lastAcked ?? Record.StateVersion, why, authenticated));

    public SessionHarness Attach()
    {
        Assert.Equal(SessionOutcomeKind.Transitioned, Apply(SessionEvent.HandshakeConfirmed(A)).Kind);
        return this;
    }

    public IEnumerable<AuditEvent> Of(AuditEventType type) => Audit.Where(a => a.Type == type);

    public string Jsonl() => string.Concat(Audit.Select(e => AuditLineWriter.SessionEvent(e, "node-1") + "\n"));
}
