using System.Net;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Paths;

/// <summary>
/// The I/O half of the client's paths (docs/design.md §4): one UDP socket per usable interface toward the server
/// (bound to the interface: SO_BINDTODEVICE on Linux, where the tunnel's fwmark also keeps a full tunnel
/// from looping; IP_UNICAST_IF on Windows), created and closed as interfaces and addresses come and go. The
/// OS's change notifications (<see cref="IPathPlatform.Watch"/>) mark the view dirty on the first event of a
/// burst; the session sweep re-reads it then, and every 2 s in case an event was missed.
/// </summary>
public sealed class ClientPaths : IDisposable
{
    private const long RescanMs = 2_000;
    private readonly IPathPlatform _platform;
    private readonly IPAddress _server;
    private readonly string _tunnel;
    private readonly IReadOnlyList<string> _priority;
    private readonly ILogger _logger;
    /// <summary>Each path's socket with the UDP transport this class opened for it (the fwmark is set on that transport).</summary>
    private readonly Dictionary<string, (PathSocket Socket, UdpTransport Udp)> _sockets = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private IDisposable? _monitor;
    private uint? _fwMark;
    private int _nextId = 1;
    private volatile bool _dirty = true;
    private long _lastScanMs = long.MinValue / 2;

    /// <param name="priority">`[Jumping] Interfaces`: only these, most preferred first; empty = every usable
    /// interface, preferred in route-metric order.</param>
    public ClientPaths(IPathPlatform platform, IPAddress server, string tunnelName, IReadOnlyList<string> priority, ILogger logger)
    {
        _platform = platform;
        _server = server;
        _tunnel = tunnelName;
        _priority = priority;
        _logger = logger;
    }

    public PathSocketSet Set { get; } = new();

    /// <summary>Watches the OS's change notifications; without them (no permission) the periodic rescan
    /// still notices changes.</summary>
    /// <param name="changed">Called (on the watcher's thread) after the view was marked dirty: wake the sweep.</param>
    public void StartMonitor(Action changed)
    {
        try
        {
            _monitor = _platform.Watch(() =>
            {
                _dirty = true;
                changed();
            });
        }
        catch (Exception ex) when (ex is PlatformException or PlatformNotSupportedException)
        {
            _logger.LogWarning("interface change notifications unavailable ({Message}); rescanning every {Seconds} s", ex.Message, RescanMs / 1000);
        }
    }

    /// <summary>The fwmark of a full tunnel: path sockets must bypass the tunnel's routing table too.</summary>
    public void SetFwMark(uint mark)
    {
        lock (_lock)
        {
            _fwMark = mark;
            foreach ((PathSocket _, UdpTransport udp) in _sockets.Values)
            {
                udp.SetFwMark(mark);
            }
        }
    }

    /// <summary>True when a change notification arrived or the periodic rescan is due.</summary>
    public bool Due(long nowMs) => _dirty || nowMs - _lastScanMs >= RescanMs;

    /// <summary>Re-reads the usable interfaces, opens sockets for new ones, closes the vanished ones. Null
    /// when the OS's tables could not be read this time: the paths stay as they are until the next scan.</summary>
    public List<PathInfo>? Refresh(long nowMs)
    {
        _dirty = false;
        _lastScanMs = nowMs;
        List<UsableInterface> usable;
        try
        {
            usable = _platform.Scan(_server, _tunnel);
        }
        catch (Exception ex) when (ex is PlatformException or PlatformNotSupportedException)
        {
            _logger.LogWarning("reading the interfaces failed ({Message}); keeping the current paths", ex.Message);
            return null;
        }
        var paths = new List<PathInfo>();
        lock (_lock)
        {
            var keep = new HashSet<string>(StringComparer.Ordinal);
            foreach (UsableInterface u in usable)
            {
                int priority = Priority(u);
                if (priority < 0)
                {
                    continue;
                }
                if (!_sockets.ContainsKey(u.Name) && !TryOpen(u))
                {
                    continue;
                }
                keep.Add(u.Name);
                paths.Add(new PathInfo(u.Name, u.LocalAddress.ToString(), priority));
            }
            foreach (string name in new List<string>(_sockets.Keys))
            {
                if (!keep.Contains(name))
                {
                    PathSocket s = _sockets[name].Socket;
                    _sockets.Remove(name);
                    Set.Remove(s);
                    s.Dispose();
                    _logger.LogInformation("path {Interface} is gone: socket closed", name);
                }
            }
        }
        return paths;
    }

    public PathSocket? Socket(string interfaceName)
    {
        lock (_lock)
        {
            return _sockets.TryGetValue(interfaceName, out (PathSocket Socket, UdpTransport Udp) entry) ? entry.Socket : null;
        }
    }

    /// <summary>The interface a packet arrived on, from the socket that received it; null for the primary socket.</summary>
    public static string? InterfaceOf(IDatagramSender? via) => (via as PathSocket)?.InterfaceName;

    private int Priority(UsableInterface u)
    {
        if (_priority.Count == 0)
        {
            return 1_000 + Math.Min(u.Metric, 1_000_000);
        }
        for (int i = 0; i < _priority.Count; i++)
        {
            if (string.Equals(_priority[i], u.Name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    private bool TryOpen(UsableInterface u)
    {
        string name = u.Name;
        UdpTransport? udp = null;
        try
        {
            udp = _platform.Bind(u);
            if (_fwMark is uint mark)
            {
                udp.SetFwMark(mark);
            }
            var socket = new PathSocket(_nextId++, name, u.LocalAddress.ToString(), udp);
            _sockets[name] = (socket, udp);
            Set.Add(socket);
            _logger.LogInformation("path {Interface}: UDP port {Port}", name, udp.LocalPort);
            return true;
        }
        catch (Exception ex) when (ex is PlatformException or PlatformNotSupportedException)
        {
            udp?.Dispose();
            _logger.LogWarning("path {Interface} unusable: {Message}", name, ex.Message);
            return false;
        }
    }

    public void Dispose()
    {
        _monitor?.Dispose();
        lock (_lock)
        {
            foreach ((PathSocket s, UdpTransport _) in _sockets.Values)
            {
                Set.Remove(s);
                s.Dispose();
            }
            _sockets.Clear();
        }
    }
}
