using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Audit;

namespace JumpingVpn.Tests.Control.Audit;

internal sealed class TestRecord(string? sessionId, ulong version, string type = "STATE_CHANGE") : IAuditRecord
{
    public long TsMs => 1000;
    public string EventType => type;
    public string? SessionId => sessionId;
    public ulong StateVersion => version;

    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("ts_ms", TsMs);
        writer.WriteString("event_type", EventType);
        if (SessionId is not null)
        {
            writer.WriteString("session_id", SessionId);
        }
        writer.WriteNumber("state_version", StateVersion);
        writer.WriteEndObject();
    }
}

/// <summary>Records lines; can block inside Write until released, or throw.</summary>
internal sealed class RecordingSink : IAuditSink
{
    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];
    public ManualResetEventSlim Gate { get; } = new(true);
    public ManualResetEventSlim Entered { get; } = new(false);
    public bool Throw { get; set; }

    public List<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    public void Write(ReadOnlySpan<byte> utf8JsonLine)
    {
        string line = Encoding.UTF8.GetString(utf8JsonLine);
        Entered.Set();
        Gate.Wait();
        if (Throw)
        {
            throw new IOException("sink down");
        }
        lock (_lock)
        {
            _lines.Add(line);
        }
    }

    public void Flush()
    {
    }

    public void Dispose() => Gate.Set();
}

internal static class Wait
{
    public static void Until(Func<bool> condition, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            Thread.Sleep(5);
        }
    }

    public static JsonElement Json(string line) => JsonDocument.Parse(line).RootElement;
}
