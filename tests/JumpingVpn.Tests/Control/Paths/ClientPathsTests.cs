using System.Net;
using JumpingVpn.Control.Paths;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Loops;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Paths;

/// <summary>
/// The I/O half of the client's paths against a scripted OS (<see cref="ScriptedPathPlatform"/>): sockets
/// follow the usable interfaces, `[Jumping] Interfaces` chooses and orders them, failures of the OS are
/// logged and retried instead of taking the paths down. The same class serves Linux and Windows; the
/// real platforms are covered by the end-to-end path tests (Linux) and <see cref="Platform.Windows.WindowsPathInventoryTests"/>.
/// </summary>
public sealed class ClientPathsTests : IDisposable
{
    private static readonly IPAddress Server = IPAddress.Parse("198.51.100.1");
    private readonly ScriptedPathPlatform _os = new();

    public void Dispose() => _os.Dispose();

    private ClientPaths Paths(params string[] priority) => new(_os, Server, "jv0", priority, NullLogger.Instance);

    private static UsableInterface Nic(string name, int metric, string address = "192.0.2.10", uint index = 0) =>
        new(name, IPAddress.Parse(address), metric, index);

    [Fact]
    public void One_socket_per_usable_interface_ranked_by_route_metric_without_a_priority_list()
    {
        _os.Usable = [Nic("wlan0", 600, "192.0.2.10"), Nic("wwan0", 700, "198.18.0.10")];
        using ClientPaths paths = Paths();

        List<PathInfo> seen = paths.Refresh(0)!;

        Assert.Equal([("wlan0", "192.0.2.10", 1600), ("wwan0", "198.18.0.10", 1700)], seen.Select(p => (p.Interface, p.LocalAddress, p.Priority)));
        Assert.Equal(["wlan0", "wwan0"], paths.Set.Snapshot.Select(s => s.InterfaceName).Order());
        Assert.Equal(["wlan0", "wwan0"], _os.Bound);
        Assert.NotEqual(paths.Socket("wlan0")!.Transport.LocalPort, paths.Socket("wwan0")!.Transport.LocalPort);
    }

    /// <summary>The fwmark of a full tunnel reaches every path socket, open now or opened later (SO_MARK needs CAP_NET_ADMIN).</summary>
    [Fact]
    public void The_fwmark_is_set_on_every_path_socket_and_on_sockets_opened_later()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Skip("SO_MARK needs Linux and CAP_NET_ADMIN (run as root)");
        }
        _os.Usable = [Nic("wlan0", 600, "192.0.2.10")];
        using ClientPaths paths = Paths();
        paths.Refresh(0);

        paths.SetFwMark(0xca6c);
        _os.Usable = [Nic("wlan0", 600, "192.0.2.10"), Nic("wwan0", 700, "198.18.0.10")];
        paths.Refresh(10_000);

        Assert.Equal([0xca6cu, 0xca6cu], new[] { "wlan0", "wwan0" }.Select(n => ((UdpTransport)paths.Socket(n)!.Transport).ReadFwMark()));
    }

    [Fact]
    public void The_priority_list_orders_the_paths_and_leaves_other_interfaces_alone()
    {
        _os.Usable = [Nic("eth9", 10), Nic("wlan0", 600), Nic("wwan0", 700)];
        using ClientPaths paths = Paths("wwan0", "wlan0");

        List<PathInfo> seen = paths.Refresh(0)!;

        Assert.Equal([("wlan0", 1), ("wwan0", 0)], seen.Select(p => (p.Interface, p.Priority)));
        Assert.Null(paths.Socket("eth9"));
        Assert.DoesNotContain("eth9", _os.Bound);
    }

    [Fact]
    public void A_vanished_interface_loses_its_socket_and_a_returning_one_gets_a_new_socket()
    {
        _os.Usable = [Nic("wlan0", 600), Nic("wwan0", 700)];
        using ClientPaths paths = Paths();
        paths.Refresh(0);
        PathSocket wifi = paths.Socket("wlan0")!;

        _os.Usable = [Nic("wwan0", 700)];
        Assert.Equal(["wwan0"], paths.Refresh(1)!.Select(p => p.Interface));
        Assert.Null(paths.Socket("wlan0"));
        Assert.DoesNotContain(wifi, paths.Set.Snapshot);
        Assert.Equal(-1, ((UdpTransport)wifi.Transport).Receive(new byte[16], wifi.Transport.CreateAddressBuffer())); // closed

        _os.Usable = [Nic("wlan0", 600), Nic("wwan0", 700)];
        paths.Refresh(2);
        PathSocket again = paths.Socket("wlan0")!;
        Assert.NotSame(wifi, again);
        Assert.NotEqual(wifi.Id, again.Id);
        Assert.Equal(2, paths.Set.Snapshot.Length);
    }

    [Fact]
    public void A_socket_the_os_refuses_is_skipped_and_tried_again_on_the_next_scan()
    {
        _os.Usable = [Nic("wlan0", 600), Nic("wwan0", 700)];
        _os.Refuse.Add("wwan0");
        using ClientPaths paths = Paths();

        Assert.Equal(["wlan0"], paths.Refresh(0)!.Select(p => p.Interface));

        _os.Refuse.Clear();
        Assert.Equal(["wlan0", "wwan0"], paths.Refresh(1)!.Select(p => p.Interface));
        Assert.Equal(["wlan0", "wwan0", "wwan0"], _os.BindAttempts);
    }

    [Fact]
    public void When_the_interface_tables_cannot_be_read_the_paths_stay_as_they_are()
    {
        _os.Usable = [Nic("wlan0", 600)];
        using ClientPaths paths = Paths();
        paths.Refresh(0);

        _os.ScanFails = true;
        Assert.Null(paths.Refresh(1));
        Assert.NotNull(paths.Socket("wlan0"));
    }

    [Fact]
    public void A_change_notification_makes_a_scan_due_at_once_otherwise_every_two_seconds()
    {
        _os.Usable = [Nic("wlan0", 600)];
        using ClientPaths paths = Paths();
        int wakes = 0;
        paths.StartMonitor(() => wakes++);
        Assert.True(paths.Due(0)); // nothing read yet
        paths.Refresh(0);
        Assert.False(paths.Due(1_999));
        Assert.True(paths.Due(2_000));

        paths.Refresh(2_000);
        _os.RaiseChanged();
        Assert.Equal(1, wakes);
        Assert.True(paths.Due(2_001));
    }

    [Fact]
    public void Without_change_notifications_the_periodic_scan_still_runs()
    {
        _os.WatchFails = true;
        _os.Usable = [Nic("wlan0", 600)];
        using ClientPaths paths = Paths();
        paths.StartMonitor(() => { }); // logs a warning, does not throw
        paths.Refresh(0);
        Assert.False(paths.Due(1_000));
        Assert.True(paths.Due(2_000));
    }

    [Fact]
    public void Dispose_closes_every_path_socket_and_the_watcher()
    {
        _os.Usable = [Nic("wlan0", 600), Nic("wwan0", 700)];
        ClientPaths paths = Paths();
        paths.StartMonitor(() => { });
        paths.Refresh(0);
        PathSocket[] sockets = paths.Set.Snapshot;

        paths.Dispose();

        Assert.Empty(paths.Set.Snapshot);
        Assert.All(sockets, s => Assert.Equal(-1, ((UdpTransport)s.Transport).Receive(new byte[16], s.Transport.CreateAddressBuffer())));
        Assert.True(_os.WatcherDisposed);
    }

    /// <summary>An OS whose interfaces the test sets; sockets are real loopback sockets.</summary>
    private sealed class ScriptedPathPlatform : IPathPlatform, IDisposable
    {
        private readonly List<UdpTransport> _opened = [];
        private Action? _changed;

        public List<UsableInterface> Usable { get; set; } = [];

        public HashSet<string> Refuse { get; } = new(StringComparer.Ordinal);

        public List<string> Bound { get; } = [];

        public List<string> BindAttempts { get; } = [];

        public bool ScanFails { get; set; }

        public bool WatchFails { get; set; }

        public bool WatcherDisposed { get; private set; }

        public IDisposable Watch(Action changed)
        {
            if (WatchFails)
            {
                throw new PlatformException("no permission to watch (test)");
            }
            _changed = changed;
            return new Watcher(this);
        }

        public void RaiseChanged() => _changed?.Invoke();

        public List<UsableInterface> Scan(IPAddress server, string tunnelName) =>
            ScanFails ? throw new PlatformException("route table unreadable (test)") : [.. Usable];

        public UdpTransport Bind(UsableInterface path)
        {
            BindAttempts.Add(path.Name);
            if (Refuse.Contains(path.Name))
            {
                throw new PlatformException($"cannot bind to {path.Name} (test)");
            }
            Bound.Add(path.Name);
            UdpTransport udp = UdpTransport.Bind(0);
            _opened.Add(udp);
            return udp;
        }

        public void Dispose()
        {
            foreach (UdpTransport u in _opened)
            {
                u.Dispose();
            }
        }

        private sealed class Watcher(ScriptedPathPlatform os) : IDisposable
        {
            public void Dispose() => os.WatcherDisposed = true;
        }
    }
}
