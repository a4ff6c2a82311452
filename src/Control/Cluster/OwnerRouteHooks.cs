using System.Collections.Concurrent;
using JumpingVpn.Platform;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Inner-address routing after a failover (docs/cluster.md): return traffic for a client's inner address
/// must reach the node that owns its session now. jvpn cannot move routes in someone else's network, so it
/// runs the operator's commands when it starts or stops owning a session: `[Jumping] OwnerUp = ...` and
/// `OwnerDown = ...`, through bash, with %a = the inner addresses (space-separated prefixes), %s = session
/// id, %n = node id, %i = interface. The test topology uses `ip route replace` on the upstream router; a
/// production deployment calls its BGP speaker or cloud route-table API here. Commands run in order on one
/// background thread, never on the packet or control path.
/// </summary>
public sealed class OwnerRouteHooks : IDisposable
{
    private readonly BlockingCollection<string> _queue = new(boundedCapacity: 1024);
    private readonly Thread _worker;
    private readonly ILogger _logger;

    public OwnerRouteHooks(string? ownerUp, string? ownerDown, string interfaceName, string nodeId, ILogger logger)
    {
        OwnerUp = string.IsNullOrWhiteSpace(ownerUp) ? null : ownerUp;
        OwnerDown = string.IsNullOrWhiteSpace(ownerDown) ? null : ownerDown;
        InterfaceName = interfaceName;
        NodeId = nodeId;
        _logger = logger;
        _worker = new Thread(Work) { IsBackground = true, Name = "jvpn-owner-hooks" };
        _worker.Start();
    }

    public string? OwnerUp { get; }

    public string? OwnerDown { get; }

    public string InterfaceName { get; }

    public string NodeId { get; }

    public void Up(string sessionId, string innerAddresses) => Enqueue(OwnerUp, sessionId, innerAddresses);

    public void Down(string sessionId, string innerAddresses) => Enqueue(OwnerDown, sessionId, innerAddresses);

    private void Enqueue(string? template, string sessionId, string innerAddresses)
    {
        if (template is null || innerAddresses.Length == 0)
        {
            return;
        }
        string cmd = template
            .Replace("%a", innerAddresses.Replace(',', ' '), StringComparison.Ordinal)
            .Replace("%s", sessionId, StringComparison.Ordinal)
            .Replace("%n", NodeId, StringComparison.Ordinal)
            .Replace("%i", InterfaceName, StringComparison.Ordinal);
        if (!_queue.TryAdd(cmd))
        {
            _logger.LogWarning("cluster: owner hook queue full; dropped: {Command}", cmd);
        }
    }

    private void Work()
    {
        foreach (string cmd in _queue.GetConsumingEnumerable())
        {
            try
            {
                ExternalCommand.Result r = ExternalCommand.Run("/bin/bash", ["-c", cmd], timeout: TimeSpan.FromSeconds(10));
                if (!r.Ok)
                {
                    _logger.LogWarning("cluster: owner hook failed ({Code}): {Command}: {Error}", r.ExitCode, cmd, r.Error.Trim());
                }
                else
                {
                    _logger.LogInformation("cluster: owner hook: {Command}", cmd);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or PlatformException)
            {
                _logger.LogWarning("cluster: owner hook failed: {Command}: {Error}", cmd, ex.Message);
            }
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _worker.Join(TimeSpan.FromSeconds(5));
        _queue.Dispose();
    }
}
