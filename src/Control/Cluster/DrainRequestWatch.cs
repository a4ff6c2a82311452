using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Polls the store for a drain request addressed to this node (`jvpn cluster drain NODE`, docs/cluster.md "Drain")
/// every <see cref="PeriodMs"/> on its own thread, and runs the drain once when one appears (on this thread: the
/// drain's store calls and waits never touch the receive or sweep threads). The period is the node heartbeat's
/// (docs/cluster.md "Drain"), so a request is seen within one heartbeat.
/// </summary>
public sealed class DrainRequestWatch : IDisposable
{
    /// <summary>How often the request key is read: one small store read per node per period, whatever the session count.</summary>
    public const int PeriodMs = 250;

    private readonly ClusterCoordinator _cluster;
    private readonly Action<CancellationToken> _onRequest;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public DrainRequestWatch(ClusterCoordinator cluster, Action<CancellationToken> onRequest, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(onRequest);
        _cluster = cluster;
        _onRequest = onRequest;
        _logger = logger;
        _thread = new Thread(Watch) { IsBackground = true, Name = "jvpn-drain-watch" };
    }

    public void Start() => _thread.Start();

    private void Watch()
    {
        WarmUpAdoption();
        while (!_stop.Token.WaitHandle.WaitOne(PeriodMs))
        {
            bool requested;
            try
            {
                requested = _cluster.TakeDrainRequest();
            }
            catch (Exception ex)
            {
                _logger.LogWarning("cluster: reading the drain request failed: {Message}", ex.Message);
                continue;
            }
            if (requested)
            {
                _logger.LogInformation("cluster: node {Node} was asked to drain (jvpn cluster drain); moving its sessions, then stopping", _cluster.NodeId);
                try
                {
                    _onRequest(_stop.Token);
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "cluster: drain failed");
                }
                return;
            }
        }
    }

    /// <summary>
    /// The store calls a node makes when a drained node's client arrives here (docs/cluster.md "Drain": read,
    /// acquire) run once at start for a random session id that does not exist: both answer NOT_FOUND and write
    /// nothing. A fresh process's first call of each pays its code's first-run cost (JIT, the Redis script's
    /// first load), which otherwise lands inside the first move's gap.
    /// </summary>
    private void WarmUpAdoption()
    {
        try
        {
            Span<byte> bytes = stackalloc byte[JumpingVpn.Control.Sessions.SessionId.Size];
            System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
            var absent = JumpingVpn.Control.Sessions.SessionId.Read(bytes);
            _cluster.Store.Read(absent);
            _cluster.Store.Acquire(absent, _cluster.NodeId, _cluster.NodeEpoch, new AcquireExpectation("", 0, 0, 0, default));
        }
        catch (Exception ex)
        {
            _logger.LogDebug("cluster: adoption warm-up failed: {Message}", ex.Message);
        }
    }

    /// <summary>Stops polling; a drain in progress is cut short (it ends at its next step).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(6));
        }
        _stop.Dispose();
    }
}
