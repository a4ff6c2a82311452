using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// Watches rtnetlink for link, address and route changes (docs/platform.md §4.5: RTMGRP_LINK, IPv4/IPv6
/// IFADDR and ROUTE) and raises <see cref="Changed"/> on the leading edge of a burst, so the path manager
/// re-reads the interfaces at once instead of after a debounce (§7.3: act on the first event); further
/// events of the same burst within <see cref="CoalesceMs"/> collapse into one trailing notification, so a
/// flapping interface costs a bounded number of re-reads. An overrun (ENOBUFS) is reported as a change too:
/// the listener re-reads the full state anyway.
/// </summary>
public sealed class RouteMonitor : IDisposable
{
    /// <summary>Events closer together than this are one burst.</summary>
    public const int CoalesceMs = 100;

    private readonly int _fd;
    private readonly Thread _thread;
    private volatile bool _stop;

    private RouteMonitor(int fd)
    {
        _fd = fd;
        _thread = new Thread(Run) { IsBackground = true, Name = "jvpn-netlink" };
    }

    /// <summary>Raised on a thread of the monitor; keep handlers short (set a flag, signal a worker).</summary>
    public event Action? Changed;

    /// <summary>Opens the netlink socket; throws <see cref="PlatformException"/> if the kernel refuses.</summary>
    public static unsafe RouteMonitor Start()
    {
        int fd = LibC.Socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK, LibC.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw new PlatformException($"cannot open a netlink socket for interface changes (errno {Marshal.GetLastPInvokeError()})");
        }
        var address = new LibC.SockAddrNl
        {
            Family = LibC.AF_NETLINK,
            Groups = LibC.RTMGRP_LINK | LibC.RTMGRP_IPV4_IFADDR | LibC.RTMGRP_IPV4_ROUTE | LibC.RTMGRP_IPV6_IFADDR | LibC.RTMGRP_IPV6_ROUTE,
        };
        if (LibC.Bind(fd, &address, (uint)sizeof(LibC.SockAddrNl)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw new PlatformException($"cannot subscribe to netlink route events (errno {errno})");
        }
        var monitor = new RouteMonitor(fd);
        monitor._thread.Start();
        return monitor;
    }

    private unsafe void Run()
    {
        byte* buffer = stackalloc byte[8192];
        var fds = new LibC.PollFd { Fd = _fd, Events = LibC.POLLIN };
        long lastRaisedMs = long.MinValue / 2;
        bool trailing = false;
        while (!_stop)
        {
            int r = LibC.Poll(&fds, 1, trailing ? CoalesceMs : 250);
            long now = Environment.TickCount64;
            if (r <= 0)
            {
                if (trailing && now - lastRaisedMs >= CoalesceMs)
                {
                    trailing = false;
                    lastRaisedMs = now;
                    Changed?.Invoke();
                }
                continue;
            }
            bool any = false;
            while (true)
            {
                nint n = LibC.Recv(_fd, buffer, 8192, 0);
                if (n > 0)
                {
                    any = true;
                    continue;
                }
                if (n < 0 && Marshal.GetLastPInvokeError() == LibC.ENOBUFS)
                {
                    any = true; // overrun: events were lost, so something changed
                    continue;
                }
                break; // EAGAIN (drained) or the socket closed
            }
            if (!any)
            {
                continue;
            }
            if (now - lastRaisedMs >= CoalesceMs)
            {
                lastRaisedMs = now;
                trailing = false;
                Changed?.Invoke();
            }
            else
            {
                trailing = true;
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(1));
        }
        LibC.Close(_fd);
    }
}
