using System.Text;
using JumpingVpn.Control.Audit;

namespace JumpingVpn.Tests.Control.Audit;

public sealed class JsonLinesFileSinkTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "jvpn-audit-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static byte[] Line(int i) => Encoding.UTF8.GetBytes($"{{\"n\":{i:D3}}}"); // 9 bytes + '\n' = 10

    [Fact]
    public void Rotates_by_size_keeping_max_files_in_order()
    {
        string path = Path.Combine(_dir, "sub", "audit.jsonl"); // directory is created
        using (var sink = new JsonLinesFileSink(path, maxBytes: 30, maxFiles: 3))
        {
            for (int i = 0; i < 10; i++)
            {
                sink.Write(Line(i));
                sink.Flush();
            }
            Assert.Equal(0, sink.ErrorCount);
        }
        // 3 lines per file: 0-2, 3-5, 6-8 rotated, 9 active; only 3 files kept so 0-2 is gone.
        Assert.Equal("{\"n\":009}\n", File.ReadAllText(path));
        Assert.Equal("{\"n\":006}\n{\"n\":007}\n{\"n\":008}\n", File.ReadAllText(path + ".1"));
        Assert.Equal("{\"n\":003}\n{\"n\":004}\n{\"n\":005}\n", File.ReadAllText(path + ".2"));
        Assert.False(File.Exists(path + ".3"));
        Assert.All(Directory.GetFiles(Path.GetDirectoryName(path)!), f => Assert.True(new FileInfo(f).Length <= 30));
    }

    [Fact]
    public void Appends_to_an_existing_file_and_counts_its_size()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "audit.jsonl");
        File.WriteAllText(path, "{\"n\":999}\n{\"n\":998}\n");
        using (var sink = new JsonLinesFileSink(path, maxBytes: 30, maxFiles: 2))
        {
            sink.Write(Line(1));
            sink.Write(Line(2)); // would make 40 bytes: rotates first
        }
        Assert.Equal("{\"n\":999}\n{\"n\":998}\n{\"n\":001}\n", File.ReadAllText(path + ".1"));
        Assert.Equal("{\"n\":002}\n", File.ReadAllText(path));
    }

    [Fact]
    public void An_unwritable_path_is_reported_not_thrown()
    {
        Directory.CreateDirectory(_dir);
        string blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "x");
        using var sink = new JsonLinesFileSink(Path.Combine(blocker, "audit.jsonl")); // parent is a file
        sink.Write(Line(1));
        sink.Flush();
        Assert.Equal(1, sink.ErrorCount);
        Assert.NotNull(sink.LastError);
        Assert.Equal(1, sink.DroppedLines);
        sink.Write(Line(2)); // within the retry interval: dropped without another attempt
        Assert.Equal(1, sink.ErrorCount);
        Assert.Equal(2, sink.DroppedLines);
    }

    [Fact]
    public void Pipeline_to_file_end_to_end()
    {
        string path = Path.Combine(_dir, "audit.jsonl");
        var sink = new JsonLinesFileSink(path);
        using (var pipeline = new AuditPipeline([sink]))
        {
            for (ulong v = 1; v <= 10; v++)
            {
                pipeline.TryPublish(new TestRecord("s", v));
            }
        }
        string[] lines = File.ReadAllLines(path);
        Assert.Equal(10, lines.Length);
        Assert.Equal("""{"ts_ms":1000,"event_type":"STATE_CHANGE","session_id":"s","state_version":10}""", lines[9]);
    }
}
