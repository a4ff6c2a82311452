using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// bench/cluster-failover.sh at 4 sessions on Redis, end to end (docs/cluster.md "Benchmark"): three
/// `jvpn up` nodes and a password-protected redis-server in namespaces, `jvpn-loadgen failover` as the
/// clients, node 1 killed with SIGKILL. Sane outputs only, never timing (the resume time depends on the
/// ownership rules in force): every session resumed on a survivor with its id, no dual owner, no version
/// gap in the clients' view, the store or the merged audit logs, the store named only survivors as owners,
/// and the store request counters moved in the steady window and the takeover.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ClusterFailoverBenchTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // Requirements.Ensure skips elsewhere
    public void Cluster_failover_bench_at_4_sessions_on_redis_reports_sane_results()
    {
        Requirements.Ensure(["jvpn", "wg", "jq", "redis-server", "redis-cli"]);
        string dir = Directory.CreateTempSubdirectory("jvpn-e2e-cluster-bench-").FullName;
        string json = Path.Combine(dir, "result.json");
        try
        {
            string script = Path.Combine(RepositoryRoot.Find(), "bench", "cluster-failover.sh");
            CommandResult run = Command.TryRun(Binaries.Find("env"),
                ["BUILD=0", "LOADGEN_DLL=" + Binaries.LoadGenDll, "STEADY=2", "BOUND=40",
                 Binaries.Find("bash"), script, "--store", "redis", "--sessions", "4", "--json", json],
                TimeSpan.FromMinutes(3));
            string all = run.StandardOutput + run.StandardError;
            Assert.True(run.ExitCode == 0, all);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement r = doc.RootElement.GetProperty("runs")[0];
            Assert.True(r.GetProperty("store").GetString() == "redis", all);
            Assert.True(r.GetProperty("sessions").GetInt32() == 4, all);
            Assert.True(r.GetProperty("attached").GetInt32() == 4, all);
            Assert.True(r.GetProperty("resumed").GetInt32() == 4, all);
            Assert.True(r.GetProperty("lost").GetInt32() == 0, all);
            Assert.True(r.GetProperty("session_ids_changed").GetInt32() == 0, all);
            Assert.True(r.GetProperty("dual_owners").GetInt32() == 0, all);
            Assert.True(r.GetProperty("version_gaps").GetInt32() == 0, all);
            Assert.True(r.GetProperty("audit_version_gaps").GetInt32() == 0, all);
            Assert.True(r.GetProperty("audit_sessions").GetInt32() == 4, all);
            Assert.True(r.GetProperty("missing_from_store").GetInt32() == 0, all);
            Assert.True(r.GetProperty("gap_p50_ms").GetDouble() > 0, all);
            Assert.True(r.GetProperty("resume_p99_ms").GetDouble() > 0, all);
            Assert.True(r.GetProperty("steady_store_ops_per_s").GetDouble() > 0, all);
            Assert.True(r.GetProperty("takeover_store_ops_per_s").GetDouble() > 0, all);
            int owned = 0;
            foreach (JsonProperty node in r.GetProperty("sessions_per_node").EnumerateObject())
            {
                Assert.True(node.Name is "node-2" or "node-3", $"store owner {node.Name} after node-1 was killed\n{all}");
                owned += node.Value.GetInt32();
            }
            Assert.True(owned == 4, all);
            Assert.Contains("dual", r.GetProperty("table_header").GetString()!, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
