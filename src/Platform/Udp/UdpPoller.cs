using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// One poll(2) over several UDP sockets, so a single receive thread serves the primary socket and
/// every path socket of a client (docs/design.md §4): the replay windows assume one writer, and one thread
/// per socket would race them. Allocation-free; the caller owns the scratch arrays.
/// </summary>
public static class UdpPoller
{
    private const short PollIn = 0x001;

    /// <summary>Sockets one call can wait on (the primary socket plus a client's path sockets).</summary>
    public const int MaxSockets = IDatagramTransport.MaxWaitSet;

    /// <summary>
    /// Waits until at least one socket is readable or <paramref name="timeoutMs"/> passes. Sets
    /// <paramref name="readable"/>[i] for each readable (or failed: the next receive reports why)
    /// socket and returns how many there are; 0 on timeout or interruption. Every transport must be a
    /// <see cref="UdpTransport"/>: poll(2) needs their descriptors.
    /// </summary>
    public static unsafe int WaitReadable(ReadOnlySpan<IDatagramTransport> sockets, Span<bool> readable, int timeoutMs)
    {
        if (sockets.Length > readable.Length)
        {
            throw new ArgumentException("readable must have one flag per socket", nameof(readable));
        }
        int n = Math.Min(sockets.Length, MaxSockets);
        LibC.PollFd* fds = stackalloc LibC.PollFd[MaxSockets];
        for (int i = 0; i < n; i++)
        {
            if (sockets[i] is not UdpTransport socket)
            {
                throw new ArgumentException("poll(2) can wait only on UDP sockets", nameof(sockets));
            }
            fds[i] = new LibC.PollFd { Fd = socket.IsClosed ? -1 : socket.Fd, Events = PollIn };
            readable[i] = false;
        }
        int r = LibC.Poll(fds, (nuint)n, timeoutMs);
        if (r <= 0)
        {
            return 0; // timeout, EINTR: the caller loops and re-reads the socket set
        }
        int ready = 0;
        for (int i = 0; i < n; i++)
        {
            if (fds[i].Fd >= 0 && fds[i].Revents != 0)
            {
                readable[i] = true;
                ready++;
            }
        }
        return ready;
    }
}
