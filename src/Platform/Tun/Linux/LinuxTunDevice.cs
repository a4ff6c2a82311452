using System.Runtime.InteropServices;
using System.Text;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Tun.Linux;

/// <summary>
/// /dev/net/tun opened with IFF_TUN | IFF_NO_PI (Documentation/networking/tuntap.rst): one read or
/// write is one IP packet. The device is not persistent, so the kernel deletes the interface (and its
/// addresses and routes) when the descriptor closes, also when the process crashes.
/// The descriptor is non-blocking; Read drains until EAGAIN and then polls the TUN together with an
/// eventfd that <see cref="Close"/> signals, which is how a blocked reader is woken reliably.
/// </summary>
public sealed unsafe class LinuxTunDevice : ITunDevice
{
    private readonly int _fd;
    private readonly int _wakeFd;
    private int _closed;

    private LinuxTunDevice(string name, int fd, int wakeFd)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
    }

    public string Name { get; }

    public static LinuxTunDevice Create(string name)
    {
        if (string.IsNullOrEmpty(name) || Encoding.ASCII.GetByteCount(name) >= LibC.IFNAMSIZ)
        {
            throw new PlatformException($"interface name '{name}' must be 1 to 15 characters");
        }
        int fd = LibC.Open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LibC.ENOENT or LibC.ENODEV => new PlatformException("cannot open /dev/net/tun: the TUN driver is missing; run 'modprobe tun' (or enable /dev/net/tun in the container)", errno),
                LibC.EPERM or LibC.EACCES => new PlatformException("cannot open /dev/net/tun: permission denied; run jvpn as root or with CAP_NET_ADMIN", errno),
                _ => new PlatformException($"cannot open /dev/net/tun: {LibC.ErrorText(errno)}", errno),
            };
        }
        LibC.IfReq req = default;
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        for (int i = 0; i < nameBytes.Length; i++)
        {
            req.Name[i] = nameBytes[i];
        }
        req.Flags = LibC.IFF_TUN | LibC.IFF_NO_PI;
        if (LibC.Ioctl(fd, LibC.TUNSETIFF, &req) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw errno switch
            {
                LibC.EPERM or LibC.EACCES => new PlatformException($"creating TUN interface {name} needs root or CAP_NET_ADMIN", errno),
                LibC.EBUSY => new PlatformException($"an interface named {name} already exists (is another jvpn or wireguard running? try 'jvpn down {name}' or 'ip link del {name}')", errno),
                LibC.EINVAL => new PlatformException($"cannot create TUN interface {name}: the name is taken by a device of another type; choose another config file name", errno),
                _ => new PlatformException($"cannot create TUN interface {name}: {LibC.ErrorText(errno)}", errno),
            };
        }
        int wake = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw new PlatformException($"eventfd failed: {LibC.ErrorText(errno)}", errno);
        }
        return new LinuxTunDevice(name, fd, wake);
    }

    public int Read(Span<byte> buffer)
    {
        LibC.PollFd* fds = stackalloc LibC.PollFd[2];
        fixed (byte* p = buffer)
        {
            while (Volatile.Read(ref _closed) == 0)
            {
                nint n = LibC.Read(_fd, p, (nuint)buffer.Length);
                if (n > 0)
                {
                    return (int)n;
                }
                int errno = n < 0 ? Marshal.GetLastPInvokeError() : LibC.EAGAIN;
                if (errno == LibC.EINTR)
                {
                    continue;
                }
                if (errno != LibC.EAGAIN)
                {
                    return 0; // the device went away (interface deleted): treat as closed
                }
                fds[0] = new LibC.PollFd { Fd = _fd, Events = LibC.POLLIN };
                fds[1] = new LibC.PollFd { Fd = _wakeFd, Events = LibC.POLLIN };
                LibC.Poll(fds, 2, -1);
            }
        }
        return 0;
    }

    public bool Write(ReadOnlySpan<byte> packet)
    {
        fixed (byte* p = packet)
        {
            while (true)
            {
                nint n = LibC.Write(_fd, p, (nuint)packet.Length);
                if (n >= 0)
                {
                    return true;
                }
                if (Marshal.GetLastPInvokeError() != LibC.EINTR)
                {
                    return false;
                }
            }
        }
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        ulong one = 1;
        LibC.Write(_wakeFd, (byte*)&one, 8);
    }

    public void Dispose()
    {
        Close();
        // Close the TUN descriptor last: the kernel removes the interface at this point.
        LibC.Close(_fd);
        LibC.Close(_wakeFd);
    }
}
