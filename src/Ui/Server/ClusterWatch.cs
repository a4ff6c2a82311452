using JumpingVpn.Control.Cluster;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// The cluster view's background reader for one server tunnel's store (docs/ui.md "Server mode", "Cluster"): a
/// judgement of liveness needs two heartbeat readings NodeTtl apart (<see cref="ClusterStatusReader"/>), so instead
/// of making each request wait that long, one thread per watched store reads round after round and keeps the latest
/// answer, which the endpoint returns at once with its age. The store stays open between rounds (reopened after a
/// failure). Rounds start at least <see cref="MinRoundMs"/> apart, and the reader stops by itself once nobody asked
/// for <see cref="IdleStopMs"/>, so a closed page costs the store nothing.
/// </summary>
internal sealed class ClusterWatch : IDisposable
{
    public const long MinRoundMs = 1000;
    public const long IdleStopMs = 60_000;

    private readonly Func<StoreUrl, ISessionStore> _open;
    private readonly Action<TimeSpan> _wait;
    private readonly TimeProvider _time;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private volatile Reading? _latest;
    private long _lastAskedMs;
    private volatile bool _stopped;

    /// <summary>One finished round: the view and when its reading ended (Unix ms).</summary>
    internal sealed record Reading(ClusterEndpoint.ClusterView View, long ReadAtMs);

    /// <param name="wait">Waits NodeTtl between the two heartbeat readings of a round; null: a wait that
    /// <see cref="Dispose"/> cuts short.</param>
    public ClusterWatch(StoreUrl url, long nodeTtlMs, Func<StoreUrl, ISessionStore> open, Action<TimeSpan>? wait, TimeProvider time)
    {
        Url = url;
        NodeTtlMs = nodeTtlMs;
        _open = open;
        _wait = wait ?? (t => _stop.Wait(t));
        _time = time;
        _lastAskedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        _thread = new Thread(Run) { IsBackground = true, Name = "ui-cluster-watch" };
        _thread.Start();
    }

    public StoreUrl Url { get; }

    public long NodeTtlMs { get; }

    /// <summary>The reader ended (idle, or disposed): a request needs a new one.</summary>
    public bool Stopped => _stopped;

    /// <summary>The latest finished round, null before the first; counts as someone asking.</summary>
    public Reading? Latest()
    {
        Interlocked.Exchange(ref _lastAskedMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        return _latest;
    }

    private void Run()
    {
        ISessionStore? store = null;
        try
        {
            // Bounded: every round waits at least MinRoundMs (or is cut short by Dispose), and the loop ends once
            // nobody asked for IdleStopMs.
            while (!_stop.IsSet && _time.GetUtcNow().ToUnixTimeMilliseconds() - Interlocked.Read(ref _lastAskedMs) < IdleStopMs)
            {
                long start = _time.GetUtcNow().ToUnixTimeMilliseconds();
                ClusterEndpoint.ClusterView view = Round(ref store);
                long end = _time.GetUtcNow().ToUnixTimeMilliseconds();
                _latest = new Reading(view, end);
                long rest = MinRoundMs - (end - start);
                if (rest > 0)
                {
                    _stop.Wait(TimeSpan.FromMilliseconds(rest));
                }
            }
        }
        finally
        {
            // Stopped first: from here on a request starts a new reader rather than read this one's last round.
            _stopped = true;
            store?.Dispose();
        }
    }

    /// <summary>One reading, as <c>jvpn cluster status</c> makes it; a failure closes the store so the next round
    /// opens it again.</summary>
    private ClusterEndpoint.ClusterView Round(ref ISessionStore? store)
    {
        string name = Url.ToString();
        if (store is null)
        {
            try
            {
                store = _open(Url);
            }
#pragma warning disable CA1031 // Any failure to connect (client libraries throw their own types) is "store down", shown as such.
            catch (Exception e)
#pragma warning restore CA1031
            {
                return ClusterEndpoint.Down(name, NodeTtlMs, $"cannot open store {Url}: {e.Message}");
            }
        }
        string? problem = null;
        ClusterStatus? status = null;
        if (store is IStoreAuthentication { AuthenticationProblem: { } refused })
        {
            problem = $"store {Url} refused authentication: {refused}";
        }
        else if (!store.Ping(out _))
        {
            problem = $"store {Url} is unreachable";
        }
        else if ((status = ClusterStatusReader.Read(store, NodeTtlMs, _wait)) is null)
        {
            problem = $"store {Url} stopped answering while reading node heartbeats";
        }
        if (status is null)
        {
            store.Dispose();
            store = null;
            return ClusterEndpoint.Down(name, NodeTtlMs, problem!);
        }
        var nodes = new List<ClusterEndpoint.NodeItem>(status.Nodes.Count);
        foreach (ClusterNodeStatus n in status.Nodes)
        {
            nodes.Add(new ClusterEndpoint.NodeItem(n.Node.NodeId, n.Node.NodeEpoch, n.Node.Beat, n.Alive, n.Node.Draining, n.Node.Endpoint, n.Sessions));
        }
        return new ClusterEndpoint.ClusterView(true, name, status.StoreUp, Math.Round(status.LatencyMs, 2), status.NodeTtlMs,
            nodes, status.Sessions.Count, status.Malformed, null);
    }

    public void Dispose()
    {
        _stop.Set();
        // The thread ends after its current store call; it owns and closes the store. Not joined: a store call
        // that hangs must not hold up the UI's shutdown.
    }
}
