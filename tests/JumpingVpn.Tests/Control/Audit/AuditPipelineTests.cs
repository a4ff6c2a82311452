using System.Diagnostics;
using System.Text.Json;
using JumpingVpn.Control.Audit;

namespace JumpingVpn.Tests.Control.Audit;

public sealed class AuditPipelineTests
{
    [Fact]
    public void Records_reach_the_sink_as_json_lines_in_order()
    {
        var sink = new RecordingSink();
        using var pipeline = new AuditPipeline([sink]);
        for (ulong v = 1; v <= 100; v++)
        {
            Assert.True(pipeline.TryPublish(new TestRecord("s1", v)));
        }
        Assert.True(pipeline.TryPublish("""{"event_type":"RAW"}"""));
        Wait.Until(() => sink.Lines.Count == 101);
        List<string> lines = sink.Lines;
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal((ulong)(i + 1), Wait.Json(lines[i]).GetProperty("state_version").GetUInt64());
        }
        Assert.Equal("""{"event_type":"RAW"}""", lines[100]);
        Assert.Equal(0, pipeline.DroppedCount);
    }

    [Fact]
    public void A_sink_that_blocks_never_blocks_producers_and_the_loss_is_reported_as_AUDIT_GAP()
    {
        var sink = new RecordingSink();
        sink.Gate.Reset();
        using var pipeline = new AuditPipeline([sink], new AuditPipelineOptions { Capacity = 16, NodeId = "n1" });

        Assert.True(pipeline.TryPublish(new TestRecord("s1", 1)));
        Assert.True(sink.Entered.Wait(5000, TestContext.Current.CancellationToken)); // consumer is now stuck inside the sink with v1

        var watch = Stopwatch.StartNew();
        int accepted = 0;
        for (ulong v = 2; v <= 1001; v++)
        {
            if (pipeline.TryPublish(new TestRecord("s1", v)))
            {
                accepted++;
            }
        }
        watch.Stop();
        Assert.True(watch.ElapsedMilliseconds < 2000, $"publishing took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(16, accepted); // v2..v17 fill the buffer
        Assert.Equal(1000 - 16, pipeline.DroppedCount);

        sink.Gate.Set();
        Wait.Until(() => sink.Lines.Count == 18); // drained: v1..v17 and the gap
        Assert.True(pipeline.TryPublish(new TestRecord("s1", 1002)));
        Wait.Until(() => sink.Lines.Count == 1 + 16 + 1 + 1);
        List<string> lines = sink.Lines;
        // v1..v17, then the gap exactly where the events went missing, then v1002.
        for (int i = 0; i < 17; i++)
        {
            Assert.Equal((ulong)(i + 1), Wait.Json(lines[i]).GetProperty("state_version").GetUInt64());
        }
        JsonElement gap = Wait.Json(lines[17]);
        Assert.Equal("AUDIT_GAP", gap.GetProperty("event_type").GetString());
        Assert.Equal("s1", gap.GetProperty("session_id").GetString());
        Assert.Equal("n1", gap.GetProperty("node_id").GetString());
        Assert.Equal(18UL, gap.GetProperty("from_version").GetUInt64());
        Assert.Equal(1001UL, gap.GetProperty("to_version").GetUInt64());
        Assert.Equal(984, gap.GetProperty("dropped_count").GetInt64());
        Assert.Equal(1002UL, Wait.Json(lines[18]).GetProperty("state_version").GetUInt64());
    }

    [Fact]
    public void A_gap_is_reported_when_the_stream_goes_idle_even_without_another_event()
    {
        var sink = new RecordingSink();
        sink.Gate.Reset();
        using var pipeline = new AuditPipeline([sink], new AuditPipelineOptions { Capacity = 2 });
        pipeline.TryPublish(new TestRecord("a", 1));
        Assert.True(sink.Entered.Wait(5000, TestContext.Current.CancellationToken));
        pipeline.TryPublish(new TestRecord("a", 2));
        pipeline.TryPublish(new TestRecord("a", 3));
        pipeline.TryPublish(new TestRecord("a", 4)); // dropped
        pipeline.TryPublish(new TestRecord("b", 9)); // dropped
        pipeline.TryPublish(new TestRecord(null, 0, "POLICY_EVENT")); // dropped
        sink.Gate.Set();
        Wait.Until(() => sink.Lines.Count == 6);
        List<string> lines = sink.Lines;
        JsonElement gapA = Wait.Json(lines[3]);
        Assert.Equal("a", gapA.GetProperty("session_id").GetString());
        Assert.Equal(4UL, gapA.GetProperty("from_version").GetUInt64());
        Assert.Equal(1, gapA.GetProperty("dropped_count").GetInt64());
        JsonElement gapB = Wait.Json(lines[4]);
        Assert.Equal("b", gapB.GetProperty("session_id").GetString());
        Assert.Equal(9UL, gapB.GetProperty("to_version").GetUInt64());
        JsonElement gapRest = Wait.Json(lines[5]);
        Assert.False(gapRest.TryGetProperty("session_id", out _));
        Assert.False(gapRest.TryGetProperty("from_version", out _));
        Assert.Equal(1, gapRest.GetProperty("dropped_count").GetInt64());
    }

    [Fact]
    public void A_throwing_sink_is_counted_and_does_not_stop_the_consumer_or_other_sinks()
    {
        var bad = new RecordingSink { Throw = true };
        var good = new RecordingSink();
        using var pipeline = new AuditPipeline([bad, good]);
        for (ulong v = 1; v <= 50; v++)
        {
            pipeline.TryPublish(new TestRecord("s", v));
        }
        Wait.Until(() => good.Lines.Count == 50);
        Assert.Equal(50, pipeline.SinkErrorCount);
        Assert.IsType<IOException>(pipeline.LastSinkError);
        bad.Throw = false;
        pipeline.TryPublish(new TestRecord("s", 51));
        Wait.Until(() => bad.Lines.Count == 1 && good.Lines.Count == 51);
    }

    [Fact]
    public void Concurrent_producers_lose_nothing_unreported()
    {
        var sink = new RecordingSink();
        using var pipeline = new AuditPipeline([sink], new AuditPipelineOptions { Capacity = 64 });
        const int PerThread = 5000;
        Parallel.For(0, 4, t =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                pipeline.TryPublish(new TestRecord("s" + t, (ulong)i));
            }
        });
        Wait.Until(() =>
        {
            long events = 0, gapped = 0;
            foreach (string line in sink.Lines)
            {
                JsonElement e = Wait.Json(line);
                if (e.GetProperty("event_type").GetString() == "AUDIT_GAP")
                {
                    gapped += e.GetProperty("dropped_count").GetInt64();
                }
                else
                {
                    events++;
                }
            }
            return events + gapped == 4 * PerThread;
        });
        Assert.Equal(4 * PerThread, pipeline.PublishedCount + pipeline.DroppedCount);
    }

    [Fact]
    public void Publish_after_dispose_returns_false_without_throwing()
    {
        var pipeline = new AuditPipeline([new RecordingSink()]);
        pipeline.Dispose();
        Assert.False(pipeline.TryPublish(new TestRecord("s", 1)));
        Assert.False(pipeline.TryPublish("{\n}"));
    }
}
