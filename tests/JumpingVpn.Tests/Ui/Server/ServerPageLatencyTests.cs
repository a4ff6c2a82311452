using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Ui.Server;

/// <summary>
/// The server page's requests over 100 000 sessions through the whole path (HTTP to the UI, UAPI socket, the real
/// listing over a real session table), checked for their answers and timed for docs/ui.md "Server mode". The times
/// are written to the test output, never asserted: this machine is shared and a timing assertion would be flaky.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServerPageLatencyTests
{
    private const int Sessions = 100_000;
    private const int Rounds = 40;

    [Fact]
    public async Task First_page_search_and_late_page_over_100k_sessions_answer_correctly_and_are_timed()
    {
        CancellationToken cancel = TestContext.Current.CancellationToken;
        await using ServerUiRig rig = await ServerUiRig.StartAsync(Sessions);
        TestContext.Current.TestOutputHelper?.WriteLine("load average before: " + File.ReadAllText("/proc/loadavg").Trim());
        var target = rig.Table.Sessions[77_777];
        string keyPrefix = WireGuardKey.ToBase64(target.Peer.PublicKey)[..10];
        var kinds = new (string Name, string Path, Action<JsonElement> Check)[]
        {
            ("first page", "api/server/sessions?tunnel=jvs0&page=1&size=50", p =>
            {
                Assert.Equal(Sessions, p.GetProperty("total").GetInt32());
                Assert.Equal(50, p.GetProperty("rows").GetArrayLength());
            }),
            ("search (inner address)", "api/server/sessions?tunnel=jvs0&search=10.1.47.209", p => // 77777 = 1*65536 + 47*256 + 209
                Assert.Equal(1, p.GetProperty("matched").GetInt32())),
            ("search (key prefix)", "api/server/sessions?tunnel=jvs0&search=" + Uri.EscapeDataString(keyPrefix), p =>
                Assert.Equal(WireGuardKey.ToBase64(target.Peer.PublicKey), p.GetProperty("rows")[0].GetProperty("publicKey").GetString())),
            ("search (session id)", "api/server/sessions?tunnel=jvs0&search=" + target.Slot.Id.ToString()[..14], p =>
            {
                Assert.Equal(1, p.GetProperty("matched").GetInt32());
                Assert.Equal(target.Slot.Id.ToString(), p.GetProperty("rows")[0].GetProperty("sessionId").GetString());
            }),
            ("late page (2000 of 2000)", "api/server/sessions?tunnel=jvs0&page=2000&size=50", p =>
            {
                Assert.Equal(2000, p.GetProperty("pages").GetInt32());
                Assert.Equal(50, p.GetProperty("rows").GetArrayLength());
            }),
        };
        foreach ((string name, string path, Action<JsonElement> check) in kinds)
        {
            var times = new List<double>(Rounds);
            TimeSpan cpu = TimeSpan.Zero;
            for (int i = 0; i < Rounds + 3; i++)
            {
                long start = Stopwatch.GetTimestamp();
                TimeSpan cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
                using HttpResponseMessage r = await rig.Ui.Http.GetAsync(new Uri(path, UriKind.Relative), cancel);
                string body = await r.Content.ReadAsStringAsync(cancel);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                Assert.True(r.StatusCode == HttpStatusCode.OK, $"{name}: {(int)r.StatusCode} {body}");
                check(JsonDocument.Parse(body).RootElement);
                if (i >= 3) // the first rounds make the per-session texts and the key order, and warm the JIT
                {
                    times.Add(ms);
                    cpu += Process.GetCurrentProcess().TotalProcessorTime - cpuStart;
                }
            }
            times.Sort();
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: wall p50 {times[times.Count / 2]:0.0} ms, p99 {times[(int)Math.Ceiling(times.Count * 0.99) - 1]:0.0} ms, max {times[^1]:0.0} ms, CPU {cpu.TotalMilliseconds / times.Count:0.0} ms per request (UI, socket and listing, all threads) over {times.Count} requests, {Sessions} sessions"));
        }
    }
}
