using System.Net;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// recvmmsg into a <see cref="PacketBatch"/>: one syscall for up to <see cref="MaxMessages"/> messages
/// (docs/data-plane.md §0: 1 datagram per syscall caps this VM at ~1.1 Gbit/s). The mmsghdr/iovec/sockaddr/cmsg
/// arrays live in one pinned scratch block owned by the receiving thread, so a call allocates nothing.
/// </summary>
internal sealed unsafe class BatchReceiver
{
    /// <summary>wireguard-go's IdealBatchSize.</summary>
    public const int MaxMessages = 128;

    // sockaddr_in6 is 28 bytes; 32 keeps each slot 8-aligned.
    private const int NameStride = 32;

    // Room for the UDP_GRO cmsg (CMSG_SPACE(4) = 24) and one unexpected extra cmsg.
    private const int ControlStride = 64;

    private readonly LibC.MMsgHdr* _messages;
    private readonly LibC.IoVec* _iovs;
    private readonly byte* _names;
    private readonly byte* _control;
#pragma warning disable IDE0052 // Keeps the pinned scratch block alive; only its address is used.
    private readonly byte[] _scratch;
#pragma warning restore IDE0052

    public BatchReceiver()
    {
        int messagesBytes = MaxMessages * sizeof(LibC.MMsgHdr);
        int iovBytes = MaxMessages * sizeof(LibC.IoVec);
        int nameBytes = MaxMessages * NameStride;
        _scratch = GC.AllocateArray<byte>(messagesBytes + iovBytes + nameBytes + (MaxMessages * ControlStride) + 8, pinned: true);
        byte* p = (byte*)(((nint)Marshal.UnsafeAddrOfPinnedArrayElement(_scratch, 0) + 7) & ~(nint)7);
        _messages = (LibC.MMsgHdr*)p;
        _iovs = (LibC.IoVec*)(p + messagesBytes);
        _names = p + messagesBytes + iovBytes;
        _control = _names + nameBytes;
    }

    /// <summary>
    /// Blocks until at least one message arrives, then returns the queued ones (MSG_WAITFORONE).
    /// Returns the message count, or -1 when the socket was closed (<paramref name="closed"/> set, or EBADF).
    /// </summary>
    public int Receive(int fd, PacketBatch batch, SocketAddress[] sources, int[] segmentSizes, ref int closed)
    {
        int n = Math.Min(Math.Min(batch.Slots, MaxMessages), Math.Min(sources.Length, segmentSizes.Length));
        if (n == 0)
        {
            return 0;
        }
        uint capacity = (uint)batch.SlotCapacity;
        for (int i = 0; i < n; i++)
        {
            // The kernel rewrites namelen/controllen/flags, so every field is reset per call.
            LibC.IoVec* iov = _iovs + i;
            iov->Base = batch.Address(i, 0);
            iov->Length = capacity;
            LibC.MsgHdr* h = &_messages[i].Header;
            h->Name = _names + (i * NameStride);
            h->NameLength = NameStride;
            h->Iov = iov;
            h->IovLength = 1;
            h->Control = _control + (i * ControlStride);
            h->ControlLength = ControlStride;
            h->Flags = 0;
            _messages[i].Length = 0;
        }

        int received;
        while (true)
        {
            received = LibC.RecvMMsg(fd, _messages, (uint)n, LibC.MSG_WAITFORONE, null);
            if (Volatile.Read(ref closed) != 0)
            {
                return -1;
            }
            if (received > 0)
            {
                break;
            }
            if (received == 0)
            {
                continue;
            }
            int errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case LibC.EINTR:
                // ICMP errors for earlier sends surface here; they say nothing about this receive.
                case LibC.ECONNREFUSED:
                case LibC.ECONNRESET:
                case LibC.EHOSTUNREACH:
                case LibC.ENETUNREACH:
                case LibC.EMSGSIZE:
                    continue;
                case LibC.EAGAIN:
                    // The fd is non-blocking if .NET ever switched it; wait for data instead of spinning.
                    if (!UdpWait.ForReadable(fd))
                    {
                        return -1;
                    }
                    continue;
                case LibC.EBADF:
                case LibC.ENOTSOCK:
                    return -1;
                default:
                    throw new PlatformException($"recvmmsg on the UDP socket failed: {LibC.ErrorText(errno)}");
            }
        }

        batch.Count = received;
        for (int i = 0; i < received; i++)
        {
            LibC.MsgHdr* h = &_messages[i].Header;
            if ((h->Flags & LibC.MSG_TRUNC) != 0)
            {
                // The slot was too small: the datagram is incomplete, so hand on an empty packet to skip.
                batch.SetPacket(i, 0, 0);
                segmentSizes[i] = 0;
            }
            else
            {
                batch.SetPacket(i, 0, (int)_messages[i].Length);
                segmentSizes[i] = GroSegmentSize(h);
            }
            CopyName(h, sources[i]);
        }
        return received;
    }

    private static void CopyName(LibC.MsgHdr* h, SocketAddress destination)
    {
        Span<byte> buffer = destination.Buffer.Span;
        int length = (int)Math.Min(h->NameLength, (uint)Math.Min(buffer.Length, NameStride));
        new ReadOnlySpan<byte>(h->Name, length).CopyTo(buffer);
        destination.Size = length;
    }

    /// <summary>The UDP_GRO cmsg's int payload (the coalesced datagrams' size), or 0 when absent.</summary>
    private static int GroSegmentSize(LibC.MsgHdr* h)
    {
        byte* p = (byte*)h->Control;
        byte* end = p + h->ControlLength;
        while (p + LibC.CmsgHeaderSize <= end)
        {
            LibC.CMsgHdr* c = (LibC.CMsgHdr*)p;
            if (c->Length < LibC.CmsgHeaderSize)
            {
                break;
            }
            if (c->Level == LibC.SOL_UDP && c->Type == LibC.UDP_GRO && c->Length >= (nuint)LibC.CmsgLen(sizeof(int)))
            {
                return *(int*)(p + LibC.CmsgHeaderSize);
            }
            p += LibC.CmsgAlign((int)c->Length);
        }
        return 0;
    }
}
