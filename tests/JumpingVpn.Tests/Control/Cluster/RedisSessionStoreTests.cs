using System.Diagnostics;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// The store contract against a real redis-server on 127.0.0.1 (random high port, killed by PID after the
/// test), plus what only a shared store can show: writers in several OS processes, and the store being away.
/// </summary>
public sealed class RedisSessionStoreTests : SessionStoreContract, IDisposable
{
    private readonly RedisServer _redis;
    private readonly RedisSessionStore _store;
    private readonly string _url;

    public RedisSessionStoreTests()
    {
        Requirements.EnsureTools("redis-server");
        _redis = RedisServer.StartNew();
        string prefix = "c" + NetNsHex();
        _url = _redis.Url(prefix, timeout: "5s");
        _store = RedisSessionStore.Connect(_redis.StoreUrl(prefix, timeout: "5s"));
    }

    private static string NetNsHex() => NetNs.RandomHex(4);

    protected override ISessionStore Store => _store;

    // Redis's own clock runs the leases: three seconds leave 1.4 s or more between any two calls whose
    // order a test relies on, which a CI machine busy building packages has not been seen to take.
    protected override long LeaseMs => 3000;

    protected override void Elapse(long ms) => Thread.Sleep(TimeSpan.FromMilliseconds(ms));

    [Fact]
    public void Concurrent_writers_in_four_processes_produce_contiguous_versions_and_never_last_write_wins()
    {
        var id = NewId();
        Store.Create(NewRecord(id), 60_000);
        const int Processes = 4;
        const int Iterations = 150;
        string start = Path.Combine(Path.GetTempPath(), "jvc6-start-" + NetNsHex());
        var workers = new List<Process>();
        try
        {
            for (int i = 0; i < Processes; i++)
            {
                workers.Add(StartWorker("cas", _url, id.ToString(), Iterations.ToString(System.Globalization.CultureInfo.InvariantCulture), start));
            }
            StartTogether(workers, start);
            var written = new List<ulong>();
            int lost = 0;
            foreach (Process p in workers)
            {
                string output = p.StandardOutput.ReadToEnd();
                Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), "worker did not finish");
                Assert.True(p.ExitCode == 0, output + p.StandardError.ReadToEnd());
                foreach (string line in output.Split('\n', StringSplitOptions.TrimEntries))
                {
                    if (line.StartsWith("lost=", StringComparison.Ordinal))
                    {
                        lost += int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("written=", StringComparison.Ordinal) && line.Length > 8)
                    {
                        written.AddRange(line[8..].Split(',').Select(s => ulong.Parse(s, System.Globalization.CultureInfo.InvariantCulture)));
                    }
                }
            }
            AssertContiguous(written, Store.Read(id).Current!.StateVersion);
            Assert.Equal(Processes * Iterations, written.Count + lost);
            Assert.True(lost > 0, "the processes never raced: the test did not exercise the CAS");
        }
        finally
        {
            KillAll(workers);
            File.Delete(start);
        }
    }

    [Fact]
    public void Four_processes_acquire_an_expired_lease_at_once_and_exactly_one_gets_it()
    {
        var id = NewId();
        Store.Create(NewRecord(id), 1);
        Thread.Sleep(20);
        string start = Path.Combine(Path.GetTempPath(), "jvc6-start-" + NetNsHex());
        var workers = new List<Process>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                workers.Add(StartWorker("acquire", _url, id.ToString(), "node-" + i, start));
            }
            StartTogether(workers, start);
            var outputs = workers.Select(p => p.StandardOutput.ReadToEnd()).ToList();
            Assert.Equal(1, outputs.Count(o => o.Contains("status=Ok epoch=2", StringComparison.Ordinal)));
            Assert.Equal(3, outputs.Count(o => o.Contains("status=LeaseHeld", StringComparison.Ordinal)));
        }
        finally
        {
            KillAll(workers);
            File.Delete(start);
        }
    }

    [Fact]
    public void With_redis_stopped_every_operation_answers_unavailable_quickly_and_after_it_returns_service_resumes()
    {
        var id = NewId();
        OwnershipRecord r = Store.Create(NewRecord(id), 60_000).Current!;
        _redis.Stop();
        var sw = Stopwatch.StartNew();
        Assert.Equal(StoreStatus.Unavailable, Store.Read(id).Status);
        Assert.Equal(StoreStatus.Unavailable, Store.CompareAndSwap(1, r with { StateVersion = 2 }, 1000).Status);
        Assert.Equal(StoreStatus.Unavailable, Store.Acquire(id, "node-b", 1000).Status);
        Assert.False(Store.Ping(out _));
        Assert.True(sw.ElapsedMilliseconds < 3000, $"unavailable answers took {sw.ElapsedMilliseconds} ms");

        _redis.Start();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!Store.Ping(out _) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }
        // Nothing was written while it was away, and the acknowledged record survived the restart.
        StoreResult back = Store.Read(id);
        Assert.Equal(StoreStatus.Ok, back.Status);
        Assert.Equal(1UL, back.Current!.StateVersion);
        Assert.True(Store.CompareAndSwap(1, back.Current with { StateVersion = 2 }, 1000).IsOk);
    }

    /// <summary>Waits until every worker has connected ("ready"), then lets them all go at once.</summary>
    private static void StartTogether(List<Process> workers, string startFile)
    {
        foreach (Process p in workers)
        {
            string? line = p.StandardOutput.ReadLine();
            Assert.True(line == "ready", $"worker said {line ?? "nothing"}: {(p.HasExited ? p.StandardError.ReadToEnd() : "")}");
        }
        File.WriteAllText(startFile, "go");
    }

    private Process StartWorker(params string[] args)
    {
        var psi = new ProcessStartInfo(Binaries.Dotnet())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment[StoreAccess.PasswordVariable] = _redis.Password;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "JumpingVpn.StoreWorker.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    private static void KillAll(List<Process> workers)
    {
        foreach (Process p in workers)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            p.Dispose();
        }
    }

    public void Dispose()
    {
        _store.Dispose();
        _redis.Dispose();
    }
}
