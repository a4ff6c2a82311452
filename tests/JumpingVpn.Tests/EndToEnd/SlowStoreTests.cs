using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// A slow or silent store must not delay packets of unrelated sessions (docs/cluster.md "Store calls off the
/// receive thread"). One cluster node reaches its store through a <see cref="LatencyTcpProxy"/> on the router.
/// Client A is attached and pings a host behind the node every 20 ms; meanwhile other jvpn clients start
/// (HELLO: a store create), get their tunnel and stop (TERMINATE: a store commit) over and over, so control
/// frames queue behind the store. First with the store answering at once (A's idle RTT), then with 300 ms
/// added to every store round trip (150 ms each way), then with the store silent (blackholed) for less than the node's fence time. A's loss and
/// RTT must stay as when idle, and every HELLO must still be answered.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class SlowStoreTests
{
    private const int PingIntervalMs = 20;
    private const int ChurnClients = 2;
    private static readonly TimeSpan SlowPhase = TimeSpan.FromSeconds(12);
    /// <summary>
    /// 300 ms added to every store round trip. With the default NodeTtl (700 ms) and beats every 50 ms a node
    /// serves through store round trips up to NodeTtl − margin − beat period = 450 ms (docs/cluster.md "Fence
    /// margin"), so a store this slow is what a node serves through; a slower one fences it by design, which is
    /// not this test.
    /// </summary>
    private static readonly TimeSpan StoreLatency = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// How long the store answers nothing: under the ~0.4 s a node survives at the defaults (NodeTtl − margin −
    /// beat period − the store's own round trip, docs/cluster.md "Fence margin").
    /// </summary>
    private static readonly TimeSpan SilentFor = TimeSpan.FromMilliseconds(350);

    /// <summary>
    /// Below twice the idle figure, RTT is judged against idle + this floor: A's packets cross two userspace
    /// jvpn processes, so on a busy 2-vCPU machine starting other jvpn processes moves a 0.3 ms idle p50 by a few
    /// ms. One store round trip through the relay is 300 ms or more, so a stall of even one store call is far above it.
    /// </summary>
    private const double P50FloorMs = 10;

    /// <summary>
    /// The same for the worst ping: on this shared 2-vCPU machine (load average above 8 while others build and
    /// test) scheduling alone delays a ping by up to ~100-150 ms now and then; half of one store round trip (300 ms).
    /// </summary>
    private const double MaxFloorMs = 150;

    [Theory]
    [InlineData("redis")]
    [InlineData("etcd")]
    public void A_slow_or_silent_store_does_not_delay_another_clients_packets_while_hellos_queue(string store)
    {
        Requirements.Ensure(["jvpn", "wg", "ping", .. store == "etcd" ? new[] { "etcd", "etcdctl" } : ["redis-server"]]);
        using ClusterTopology t = ClusterTopology.Create(1, store, ChurnClients);
        // Default NodeTtl (700 ms): the heartbeat, one round trip (0.3 s through the relay), keeps up to ten beats
        // in flight, so a beat sent every 50 ms still lands within its 0.5 s validity (docs/cluster.md "Fence margin").
        // The operation timeout must exceed an etcd commit through the relay (a read and a transaction, 0.6 s).
        t.StoreTimeout = "3s";
        LatencyTcpProxy proxy = t.AddStoreProxy();
        t.StartNode(1);
        JvpnPeer a = t.StartClient();
        Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(20)), "no ping through the node" + Context(t));
        SessionStatus.WaitForAttached(a, TimeSpan.FromSeconds(10));

        RttSample idle = RttSample.Measure(t.Client, TimeSpan.FromSeconds(5));
        TunnelScenarios.Log($"{store}: idle (store direct): {idle}");
        ChurnResult fastChurn;
        RttSample fast;
        using (var churn = Churn.Start(t, ChurnClients))
        {
            fast = RttSample.Measure(t.Client, TimeSpan.FromSeconds(8));
            fastChurn = churn.Stop();
        }
        TunnelScenarios.Log($"{store}: store direct, clients churning (for comparison): {fast}; churn {fastChurn}");

        proxy.OneWayLatency = StoreLatency;
        ChurnResult slowChurn;
        RttSample slow;
        using (var churn = Churn.Start(t, ChurnClients))
        {
            slow = RttSample.Measure(t.Client, SlowPhase);
            slowChurn = churn.Stop();
        }
        TunnelScenarios.Log($"{store}: store +{StoreLatency.TotalMilliseconds:0} ms each way (+{2 * StoreLatency.TotalMilliseconds:0} ms per round trip): {slow}; churn {slowChurn}");

        proxy.OneWayLatency = TimeSpan.Zero;
        ChurnResult darkChurn;
        RttSample dark;
        using (var churn = Churn.Start(t, ChurnClients))
        {
            Thread.Sleep(500);
            proxy.Blackhole = true;
            RttSample? measured = null;
            var meter = new Thread(() => measured = RttSample.Measure(t.Client, TimeSpan.FromSeconds(3))) { IsBackground = true, Name = "ping-a" };
            meter.Start();
            // Below the node's fence time: its last answered beat went out at most one beat period (50 ms) and a
            // store round trip before the store went silent and holds NodeTtl minus the 200 ms margin, so the node
            // serves for about 450 ms more; the held answers need a store round trip after the silence too.
            // A longer silence fences the node by design (docs/cluster.md "Self-fencing").
            Thread.Sleep(SilentFor);
            proxy.Blackhole = false;
            churn.Mark();
            Assert.True(meter.Join(TimeSpan.FromSeconds(30)), "the ping run did not end");
            dark = measured!;
            Thread.Sleep(6000); // clients started now, with the store answering again, must get their tunnels
            darkChurn = churn.Stop();
        }
        TunnelScenarios.Log($"{store}: store blackholed {SilentFor.TotalSeconds:0.00} s: {dark}; churn {darkChurn}");

        string context = Context(t);
        AssertUnaffected("slow store", idle, fast, slow, context);
        AssertUnaffected("silent store", idle, fast, dark, context);
        Assert.True(slowChurn.Attached >= ChurnClients, $"HELLOs behind the slow store were not answered: {slowChurn}{context}");
        Assert.True(slowChurn.Failed == 0, $"a client got no tunnel within its wait behind the slow store: {slowChurn}{context}");
        // A HELLO that met the silent store is answered STORE_UNAVAILABLE, and today's client then stays plain
        // WireGuard until its next handshake; every client started once the store answers again gets its tunnel.
        Assert.True(darkChurn.AttachedAfterMark >= 1 && darkChurn.FailedAfterMark == 0, $"clients started after the silent store returned: {darkChurn}{context}");
        Assert.True(Ping.WaitForReply(t.Client, ClusterTopology.ServiceV4, TimeSpan.FromSeconds(5)), "A lost its tunnel" + context);
    }

    /// <summary>
    /// Loss below 1 %, p50 within 2x idle (or idle + <see cref="P50FloorMs"/>), the worst ping within 2x the worst
    /// of the reference (or it + <see cref="MaxFloorMs"/>). The reference for the worst ping is the worse of idle
    /// and the same client churn against the store directly: starting jvpn processes on 2 shared vCPUs costs A's
    /// pings CPU whatever the store does, and that is not what is measured here.
    /// </summary>
    private static void AssertUnaffected(string phase, RttSample idle, RttSample fast, RttSample loaded, string context)
    {
        Assert.True(loaded.Loss < 0.01, $"{phase}: A lost {loaded.Loss:P1} of its pings ({loaded}; idle {idle}){context}");
        double p50Limit = Math.Max(2 * idle.P50Ms, idle.P50Ms + P50FloorMs);
        double reference = Math.Max(idle.MaxMs, fast.MaxMs);
        double maxLimit = Math.Max(2 * reference, reference + MaxFloorMs);
        Assert.True(loaded.P50Ms <= p50Limit, $"{phase}: A's RTT p50 {loaded.P50Ms:0.00} ms > {p50Limit:0.00} ms (idle {idle}){context}");
        Assert.True(loaded.MaxMs <= maxLimit, $"{phase}: A's worst RTT {loaded.MaxMs:0.00} ms > {maxLimit:0.00} ms (idle {idle}; store direct with churn {fast}){context}");
    }

    private static string Context(ClusterTopology t) => "\n" + t.Describe();

    /// <summary>Loss and RTT percentiles of a 20 ms ping run from a namespace.</summary>
    private sealed partial record RttSample(int Sent, int Received, double P50Ms, double P99Ms, double MaxMs)
    {
        public double Loss => Sent == 0 ? 1 : 1 - ((double)Received / Sent);

        public static RttSample Measure(NetNs ns, TimeSpan duration)
        {
            int count = (int)(duration.TotalMilliseconds / PingIntervalMs);
            // Ping.Measure allows the run 10 s over its length; a machine this busy needs more before a slow ping
            // process (not a slow tunnel: its replies say that) is taken for a hang.
            CommandResult run = ns.TryExec("ping", ["-D", "-n", "-i", (PingIntervalMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture), "-W", "1",
                "-c", count.ToString(CultureInfo.InvariantCulture), ClusterTopology.ServiceV4], duration + TimeSpan.FromSeconds(60));
            PingResult r = Ping.Parse(run.StandardOutput, PingIntervalMs);
            var rtts = new List<double>();
            foreach (Match m in RttField().Matches(r.Output))
            {
                rtts.Add(double.Parse(m.Groups["ms"].Value, CultureInfo.InvariantCulture));
            }
            rtts.Sort();
            return new RttSample(r.Transmitted, r.Received, Percentile(rtts, 0.50), Percentile(rtts, 0.99), rtts.Count == 0 ? double.NaN : rtts[^1]);
        }

        private static double Percentile(List<double> sorted, double q) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Received}/{Sent} replies (loss {Loss:P1}), RTT p50 {P50Ms:0.00} ms, p99 {P99Ms:0.00} ms, max {MaxMs:0.00} ms");

        [GeneratedRegex(@"time=(?<ms>[0-9.]+) ms")]
        private static partial Regex RttField();
    }

    private sealed record ChurnResult(int Attached, int Failed, double MeanAttachMs, double MaxAttachMs, int AttachedAfterMark, int FailedAfterMark, string Problems)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Attached} client starts got their tunnel (mean {MeanAttachMs:0} ms, max {MaxAttachMs:0} ms after start), {Failed} did not; of those started after the mark {AttachedAfterMark} did, {FailedAfterMark} did not{(Problems.Length > 0 ? " (" + Problems + ")" : "")}");
    }

    /// <summary>
    /// Extra clients that start (HELLO), wait for their tunnel (a ping through it: the node routes a client only
    /// once it owns its session, i.e. after the store took the HELLO) and stop (TERMINATE), in a loop, staggered.
    /// </summary>
    private sealed class Churn : IDisposable
    {
        private static readonly TimeSpan AttachWait = TimeSpan.FromSeconds(15);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Thread> _threads = [];
        private readonly List<double> _attachMs = [];
        private readonly List<(long StartedTicks, bool Up)> _attempts = [];
        private long _markTicks = long.MaxValue;
        private int _failed;

        /// <summary>From now on attempts are also counted apart (e.g. those started after the store answers again).</summary>
        public void Mark() => Interlocked.Exchange(ref _markTicks, Stopwatch.GetTimestamp());

        public static Churn Start(ClusterTopology t, int clients)
        {
            var churn = new Churn();
            for (int j = 1; j <= clients; j++)
            {
                int index = j;
                var thread = new Thread(() => churn.Loop(t, index)) { IsBackground = true, Name = "churn-" + index.ToString(CultureInfo.InvariantCulture) };
                churn._threads.Add(thread);
                thread.Start();
            }
            return churn;
        }

        private void Loop(ClusterTopology t, int j)
        {
            // Staggered, so the clients' process starts do not all compete for the CPU at once.
            if (_stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(700 * (j - 1))))
            {
                return;
            }
            while (!_stop.IsCancellationRequested)
            {
                var sw = Stopwatch.StartNew();
                long started = Stopwatch.GetTimestamp();
                try
                {
                    using JvpnPeer c = t.StartExtraClient(j);
                    bool up = Ping.WaitForReply(t.ExtraClientNamespaces[j - 1], ClusterTopology.ServiceV4, AttachWait);
                    lock (_attachMs)
                    {
                        _attempts.Add((started, up));
                        if (up)
                        {
                            _attachMs.Add(sw.Elapsed.TotalMilliseconds);
                        }
                        else
                        {
                            _failed++;
                        }
                    }
                    // Keep the tunnel a little: fewer process starts, less CPU taken from the pings being measured.
                    _stop.Token.WaitHandle.WaitOne(1000);
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or Xunit.Sdk.XunitException)
                {
                    // A client that did not come up is a failed attempt, reported by the test, not a crash of the run.
                    lock (_attachMs)
                    {
                        _failed++;
                        _attempts.Add((started, false));
                        Problems.Add($"client {j}: {e.Message}");
                    }
                }
            }
        }

        public List<string> Problems { get; } = [];

        public ChurnResult Stop()
        {
            _stop.Cancel();
            foreach (Thread th in _threads)
            {
                Assert.True(th.Join(AttachWait + TimeSpan.FromSeconds(30)), "a churn client did not stop");
            }
            lock (_attachMs)
            {
                long mark = Interlocked.Read(ref _markTicks);
                return new ChurnResult(_attachMs.Count, _failed, _attachMs.Count == 0 ? double.NaN : _attachMs.Average(), _attachMs.Count == 0 ? double.NaN : _attachMs.Max(),
                    _attempts.Count(a => a.StartedTicks >= mark && a.Up), _attempts.Count(a => a.StartedTicks >= mark && !a.Up), string.Join("; ", Problems));
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (Thread th in _threads)
            {
                th.Join(AttachWait + TimeSpan.FromSeconds(30));
            }
            _stop.Dispose();
        }
    }
}
