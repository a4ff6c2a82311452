namespace JumpingVpn.Tests.Architecture;

/// <summary>
/// Audit lines have one writer (docs/session-spec.md §6.2): in the Control assembly only
/// <c>AuditLineWriter</c> builds JSON, plus the audit thread's reusable writer that
/// <c>AuditPipeline</c> hands to it. A JSON writer anywhere else in Control would be a second audit format
/// to keep byte-identical; code that needs JSON for something other than audit is listed here with why.
/// </summary>
public sealed class AuditWriterTests
{
    private const string JsonWriterConstructor = "System.Text.Json.Utf8JsonWriter::.ctor";

    private static readonly Dictionary<string, string> Allowed = new(StringComparer.Ordinal)
    {
        ["JumpingVpn.Control.Audit.AuditLineWriter"] = "the one audit writer",
        ["JumpingVpn.Control.Audit.AuditPipeline"] = "the audit thread's reusable writer, passed to AuditLineWriter.TryWriteLine",
        ["JumpingVpn.Control.Cluster.EtcdRecordCodec"] = "a session record's value in etcd (docs/cluster.md \"etcd\"): store data, not an audit line",
    };

    private static List<IlReference> JsonWriterConstructions() =>
        IlReferences.Scan(Path.Combine(AppContext.BaseDirectory, "JumpingVpn.Control.dll"), _ => true)
            .FindAll(r => r.Target == JsonWriterConstructor);

    [Fact]
    public void Only_the_audit_writer_builds_json_in_Control()
    {
        var others = JsonWriterConstructions().FindAll(r => !Allowed.ContainsKey(r.OwnerType)).ConvertAll(r => $"{r.Method} ({r.OwnerType})");

        Assert.Empty(others);
    }

    [Fact]
    public void The_scan_sees_the_audit_writer_itself()
    {
        // A renamed constructor target or type would otherwise leave the rule checking nothing.
        Assert.Contains(JsonWriterConstructions(), r => r.OwnerType == "JumpingVpn.Control.Audit.AuditLineWriter");
    }
}
