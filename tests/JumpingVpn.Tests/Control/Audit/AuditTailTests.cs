using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Audit;
using JumpingVpn.Control.Sessions;

namespace JumpingVpn.Tests.Control.Audit;

/// <summary>
/// The one reader-facing view of the audit stream (`jvpn events`, `--follow` polls with a cursor): bounded,
/// nothing duplicated, every loss shown as an AUDIT_GAP whose dropped_count accounts for it
/// (docs/session-spec.md §6.1).
/// </summary>
public sealed class AuditTailTests
{
    private static readonly SessionId Id = SessionId.Read([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);

    private static void PublishVersions(AuditTail tail, ulong from, ulong to)
    {
        for (ulong v = from; v <= to; v++)
        {
            tail.Publish(1000, "TEST_EVENT", Id, v, null);
        }
    }

    private static (List<ulong> Versions, long Dropped, long Next) Read(AuditTail tail, long cursor)
    {
        var sb = new StringBuilder();
        long next = tail.ReadSince(cursor, sb);
        var versions = new List<ulong>();
        long dropped = 0;
        foreach (string line in sb.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.GetProperty("event_type").GetString() == "AUDIT_GAP")
            {
                dropped += doc.RootElement.GetProperty("dropped_count").GetInt64();
            }
            else
            {
                versions.Add(doc.RootElement.GetProperty("state_version").GetUInt64());
            }
        }
        return (versions, dropped, next);
    }

    [Fact]
    public void A_reader_that_fell_behind_gets_one_gap_for_what_left_the_tail_then_the_rest()
    {
        var tail = new AuditTail("n1", capacity: 4);
        PublishVersions(tail, 1, 100);

        (List<ulong> versions, long dropped, long next) = Read(tail, cursor: 0);

        Assert.Equal([97UL, 98, 99, 100], versions);
        Assert.Equal(96, dropped);
        Assert.Equal(100, next);
    }

    [Fact]
    public void Reading_the_tail_then_following_with_the_cursor_gives_every_line_once()
    {
        var tail = new AuditTail("n1", capacity: 3);
        PublishVersions(tail, 1, 5);
        (List<ulong> first, long dropped, long cursor) = Read(tail, cursor: 3);
        Assert.Equal([4UL, 5], first);
        Assert.Equal(0, dropped);

        PublishVersions(tail, 6, 6);
        (List<ulong> second, _, long after) = Read(tail, cursor);
        Assert.Equal([6UL], second);
        Assert.Equal(6, after);
        Assert.Empty(Read(tail, after).Versions);
    }

    [Fact]
    public void A_follower_polling_during_concurrent_publishing_sees_each_line_at_most_once_in_order_and_every_loss_counted()
    {
        var tail = new AuditTail("n1", capacity: 64);
        const int PerThread = 5000;
        var publishers = new Thread[2];
        for (int t = 0; t < publishers.Length; t++)
        {
            ulong offset = (ulong)t * 1_000_000;
            publishers[t] = new Thread(() => PublishVersions(tail, offset + 1, offset + PerThread));
        }
        foreach (Thread p in publishers)
        {
            p.Start();
        }
        long cursor = 0, seen = 0, dropped = 0;
        var last = new ulong[publishers.Length];
        bool running = true;
        while (running)
        {
            running = Array.Exists(publishers, p => p.IsAlive);
            (List<ulong> versions, long lost, long next) = Read(tail, cursor);
            foreach (ulong v in versions)
            {
                int t = (int)(v / 1_000_000);
                Assert.True(v > last[t], $"{v} after {last[t]}");
                last[t] = v;
            }
            seen += versions.Count;
            dropped += lost;
            cursor = next;
        }
        Assert.Equal(publishers.Length * PerThread, seen + dropped);
    }

    [Fact]
    public void Every_published_line_is_raised_once_without_its_terminator_as_the_tail_holds_it()
    {
        var tail = new AuditTail("n1");
        var raised = new List<string>();
        tail.LineWritten += raised.Add;
        tail.Publish(
        [
            new AuditEvent { Type = AuditEventType.SessionCreated, SessionId = Id, PolicyVersion = "1", TsMs = 5 },
        ], wallOffsetMs: 10);
        tail.Publish(20, "SESSION_ESTABLISHED", Id, 1, null);

        var sb = new StringBuilder();
        tail.ReadSince(0, sb);
        Assert.Equal(2, raised.Count);
        Assert.All(raised, line => Assert.False(line.EndsWith('\n')));
        Assert.Equal(string.Concat(raised.Select(l => l + "\n")), sb.ToString());
    }
}
