using System.Diagnostics;
using JumpingVpn.Control.Cluster;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>
/// What only a store shared by several processes can show, run against each real server
/// (<see cref="RedisSessionStoreTests"/>, <see cref="EtcdSessionStoreTests"/>): writers in several OS
/// processes (tests/JumpingVpn.StoreWorker), and the store being away and coming back (docs/cluster.md "Store away").
/// </summary>
public abstract class SharedSessionStoreContract : SessionStoreContract
{
    /// <summary>The store URL as a worker process parses it (its password comes from the environment).</summary>
    protected abstract string Url { get; }

    protected abstract string Password { get; }

    /// <summary>Stops the server process; the store is unreachable until <see cref="StartServer"/>.</summary>
    protected abstract void StopServer();

    protected abstract void StartServer();

    [Fact]
    public void Concurrent_writers_in_four_processes_produce_contiguous_versions_and_never_last_write_wins()
    {
        var id = NewId();
        Store.Create(NewRecord(id));
        const int Processes = 4;
        const int Iterations = 150;
        string start = Path.Combine(Path.GetTempPath(), "jvc6-start-" + NetNs.RandomHex(4));
        var workers = new List<Process>();
        try
        {
            for (int i = 0; i < Processes; i++)
            {
                workers.Add(StartWorker("cas", Url, id.ToString(), Iterations.ToString(System.Globalization.CultureInfo.InvariantCulture), start));
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
    public void Four_processes_acquire_a_session_of_a_stale_node_at_once_and_exactly_one_gets_it()
    {
        var id = NewId();
        string dead = NodeName("dead");
        ObservedBeat last = Beat(dead, 17);
        Store.Create(NewRecord(id, dead, last.NodeEpoch));
        string start = Path.Combine(Path.GetTempPath(), "jvc6-start-" + NetNs.RandomHex(4));
        var workers = new List<Process>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                workers.Add(StartWorker("acquire", Url, id.ToString(), "node-" + i, start));
            }
            StartTogether(workers, start);
            var outputs = workers.Select(p => p.StandardOutput.ReadToEnd()).ToList();
            Assert.Equal(1, outputs.Count(o => o.Contains("status=Ok epoch=2", StringComparison.Ordinal)));
            Assert.Equal(3, outputs.Count(o => o.Contains("status=OwnershipConflict", StringComparison.Ordinal)));
        }
        finally
        {
            KillAll(workers);
            File.Delete(start);
        }
    }

    [Fact]
    public void With_the_store_stopped_every_operation_answers_unavailable_quickly_and_after_it_returns_service_resumes()
    {
        var id = NewId();
        OwnershipRecord r = Store.Create(NewRecord(id)).Current!;
        StopServer();
        var sw = Stopwatch.StartNew();
        Assert.Equal(StoreStatus.Unavailable, Store.Read(id).Status);
        Assert.Equal(StoreStatus.Unavailable, Store.CompareAndSwap(1, r with { StateVersion = 2 }, 1000).Status);
        Assert.Equal(StoreStatus.Unavailable, Store.Acquire(id, "node-b", 1, AcquireExpectation.Of(r, default)).Status);
        Assert.Equal(0UL, Store.RegisterNode("node-b"));
        Assert.False(Store.Heartbeat(new ClusterNodeInfo("node-b", 1, 1, "", false, 0)));
        Assert.Null(Store.ListNodes());
        Assert.False(Store.Ping(out _));
        Assert.True(sw.ElapsedMilliseconds < 3000, $"unavailable answers took {sw.ElapsedMilliseconds} ms");

        StartServer();
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
        psi.Environment[StoreAccess.PasswordVariable] = Password;
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

}
