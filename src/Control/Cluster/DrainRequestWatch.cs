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
