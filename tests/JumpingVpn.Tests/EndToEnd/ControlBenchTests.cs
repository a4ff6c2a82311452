using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Issue 8: the control-plane load generator at a small N, end to end (a real `jvpn up` server in a
/// namespace, 200 simulated clients with their own keys). Sane outputs only, never timing: every session
/// acked, every storm reattach acked, no dual binding, no version gap, no AUDIT_GAP, replays changed
/// nothing, and the abuse floods were rejected by the server's counters.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ControlBenchTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // Requirements.Ensure skips elsewhere
    public void Load_generator_at_200_sessions_reports_sane_results()
    {
        Requirements.Ensure();
        string dir = Directory.CreateTempSubdirectory("jvpn-e2e-bench-").FullName;
        string json = Path.Combine(dir, "result.json");
        string name = "jvcb" + NetNs.RandomHex(3);
        try
        {
            using NetNs ns = NetNs.Create("cb");
            CommandResult run = ns.Exec(Binaries.Dotnet(),
                [Binaries.JvpnDll, "bench", "control", "--sessions", "200", "--storm", "200", "--abuse-at", "200",
                 "--abuse-seconds", "1", "--soak-at", "200", "--soak-seconds", "5", "--samples", "100",
                 "--name", name, "--work-dir", dir, "--json", json],
                TimeSpan.FromMinutes(4));
            Assert.True(run.ExitCode == 0, run.StandardOutput + run.StandardError);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement r = doc.RootElement;
            string all = run.StandardOutput;
            Assert.True(r.GetProperty("sessions").GetDouble() == 200, all);
            Assert.True(r.GetProperty("storm_sessions").GetDouble() == 200, all);
            JsonElement first = r.GetProperty("runs")[0];
            Assert.True(first.GetProperty("storm_acked").GetDouble() == 200, all);
            Assert.True(r.GetProperty("storm_all_acked_ms").ValueKind == JsonValueKind.Number, all);
            Assert.True(r.GetProperty("dual_bindings").GetDouble() == 0, all);
            Assert.True(r.GetProperty("version_gaps").GetDouble() == 0, all);
            Assert.True(r.GetProperty("audit_gaps").GetDouble() == 0, all);
            Assert.True(r.GetProperty("replay_state_changes").GetDouble() == 0, all);
            Assert.True(first.GetProperty("audit_sessions").GetDouble() == 200, all);
            Assert.True(r.GetProperty("rss_bytes_per_session").ValueKind == JsonValueKind.Number, all);
            Assert.True(r.GetProperty("unknown_reject_pps").GetDouble() > 0, all);
            Assert.True(r.GetProperty("unknown_reject_allocated_bytes").GetDouble() < 1024, all);
            foreach (JsonElement phase in r.GetProperty("abuse_phases").EnumerateArray())
            {
                Assert.True(phase.GetProperty("pings").GetDouble() > 0, all);
            }
        }
        finally
        {
            File.Delete($"/var/run/wireguard/{name}0.sock");
            Directory.Delete(dir, recursive: true);
        }
    }
}
