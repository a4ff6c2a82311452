using System.Net;
using JumpingVpn.Platform.Buffers;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// What the packet loops need from a datagram socket (docs/data-plane.md §3.6): batched receive into
/// caller-owned buffers with the senders' addresses, batched send of runs to one destination, a bounded
/// wait on several transports at once, and the offloads in use. <see cref="UdpTransport"/> is the real
/// one; tests use an in-memory network. It lives here, next to <see cref="Tun.ITunDevice"/>, because the
/// loops (Tunnel) take it and the UDP socket (Platform, the layer below) implements it.
/// Every call is made per batch, never per datagram, so the interface dispatch stays off the per-packet
/// path; none of them allocates.
/// </summary>
public interface IDatagramTransport : IDisposable
{
    /// <summary>A GRO super-datagram can be up to 64 KB; smaller receive slots would truncate it.</summary>
    const int GroSlotCapacity = 65535;

    /// <summary>Transports one <see cref="WaitReadable"/> call can wait on (the primary socket plus a
    /// client's path sockets, docs/design.md §4).</summary>
    const int MaxWaitSet = 16;

    int LocalPort { get; }

    /// <summary>Whether <see cref="SendSegments"/> hands runs of equal-size datagrams to the kernel as one
    /// UDP GSO message (docs/data-plane.md §1.4).</summary>
    bool GsoEnabled { get; }

    /// <summary>Whether <see cref="ReceiveBatch"/> may return coalesced datagrams (UDP GRO), given slots of at
    /// least <see cref="GroSlotCapacity"/>.</summary>
    bool GroEnabled { get; }

    /// <summary>An address buffer of this transport's family, for <see cref="ReceiveBatch"/>'s sources.</summary>
    SocketAddress CreateAddressBuffer();

    /// <summary>
    /// Blocks until a message arrives, then fills up to batch.Slots slots at data offset 0 and sets
    /// <c>batch.Count</c>. For message i, <paramref name="sources"/>[i] (from <see cref="CreateAddressBuffer"/>)
    /// receives the sender and <paramref name="segmentSizes"/>[i] the GRO segment size: 0 for a single
    /// datagram, else the message holds datagrams of that size back to back (the last may be shorter). A
    /// truncated message (slot too small) has length 0. Returns the message count, or -1 once closed.
    /// </summary>
    int ReceiveBatch(PacketBatch batch, SocketAddress[] sources, int[] segmentSizes);

    /// <summary>Sends batch.Packet(start) … batch.Packet(start + count - 1), each as its own datagram, to
    /// <paramref name="to"/>; false if any could not be sent (never thrown for an unreachable peer).</summary>
    bool SendSegments(PacketBatch batch, int start, int count, SocketAddress to);

    /// <summary>Sends one datagram; false on any error (unreachable, no route, closed).</summary>
    bool Send(ReadOnlySpan<byte> datagram, SocketAddress to);

    /// <summary>
    /// Waits until at least one of <paramref name="transports"/> has something to receive, or
    /// <paramref name="timeoutMs"/> passes. Sets <paramref name="readable"/>[i] for each such transport (or
    /// one closed during the wait: its next receive returns -1) and returns how many there are; 0 on
    /// timeout or interruption. A transport closed before the call is skipped. The set must be of this
    /// transport's kind, which decides how the wait is done (one poll(2) over the sockets for
    /// <see cref="UdpTransport"/>); at most <see cref="MaxWaitSet"/> of them are waited on.
    /// </summary>
    int WaitReadable(ReadOnlySpan<IDatagramTransport> transports, Span<bool> readable, int timeoutMs);

    /// <summary>Closes the transport and wakes a thread blocked in <see cref="ReceiveBatch"/> or
    /// <see cref="WaitReadable"/>; idempotent.</summary>
    void Close();
}
