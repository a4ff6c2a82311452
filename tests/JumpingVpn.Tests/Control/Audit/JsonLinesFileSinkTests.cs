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

    private const UnixFileMode Mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    [Fact]
    public void New_and_rotated_files_are_created_without_access_for_others()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes; on Windows the file inherits the directory's ACL");
            return;
        }
        string path = Path.Combine(_dir, "logs", "audit.jsonl");
        using (var sink = new JsonLinesFileSink(path, maxBytes: 30, maxFiles: 2))
        {
            for (int i = 0; i < 5; i++)
            {
                sink.Write(Line(i));
                sink.Flush();
            }
            Assert.Equal(0, sink.ErrorCount);
        }
        foreach (string file in new[] { path, path + ".1" })
        {
            UnixFileMode mode = File.GetUnixFileMode(file);
            Assert.True((mode & ~Mode0640) == 0, $"{file} is {mode}, wider than 0640");
            Assert.True(mode.HasFlag(UnixFileMode.UserWrite), $"{file} is {mode}");
        }
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Path.GetDirectoryName(path)!) & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.GroupWrite));
    }

    [Fact]
    public void An_existing_file_wider_than_0640_is_narrowed_and_a_narrower_one_is_kept()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes; on Windows the file inherits the directory's ACL");
            return;
        }
        Directory.CreateDirectory(_dir);
        string wide = Path.Combine(_dir, "wide.jsonl");
        string narrow = Path.Combine(_dir, "narrow.jsonl");
        File.WriteAllText(wide, "");
        File.WriteAllText(narrow, "");
        File.SetUnixFileMode(wide, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        File.SetUnixFileMode(narrow, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        foreach (string file in new[] { wide, narrow })
        {
            using var sink = new JsonLinesFileSink(file);
            sink.Write(Line(1));
            Assert.Equal(0, sink.ErrorCount);
        }
        Assert.Equal(Mode0640, File.GetUnixFileMode(wide));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(narrow));
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
