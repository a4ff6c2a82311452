using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// poll() for the rare case the socket fd is non-blocking (EAGAIN). shutdown() makes a UDP socket
/// readable (datagram_poll reports EPOLLIN on RCV_SHUTDOWN), so a waiting receiver still wakes on close.
/// </summary>
internal static unsafe class UdpWait
{
    public static bool ForReadable(int fd) => Wait(fd, LibC.POLLIN);

    public static bool ForWritable(int fd) => Wait(fd, LibC.POLLOUT);

    private static bool Wait(int fd, short events)
    {
        LibC.PollFd pfd = new() { Fd = fd, Events = events };
        while (true)
        {
            int r = LibC.Poll(&pfd, 1, -1);
            if (r >= 0)
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
