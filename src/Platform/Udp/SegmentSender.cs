using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// Sends a run of datagrams to one destination with as few syscalls as possible: consecutive datagrams
/// of equal size (the last may be shorter) become one UDP GSO message (cmsg SOL_UDP/UDP_SEGMENT,
/// docs/data-plane.md §1.4: ~6x the throughput of sendmmsg on this VM), and all messages of the run go out in
/// one sendmmsg. Without GSO every datagram is its own mmsghdr. Scratch memory is pinned and owned by
/// the sending thread, so a call allocates nothing.
/// </summary>
internal sealed unsafe class SegmentSender
{
    /// <summary>Datagrams (iovecs) and messages per sendmmsg.</summary>
    public const int MaxDatagrams = 128;

    /// <summary>wireguard-go's udpSegmentMaxDatagrams; older kernels cap UDP_MAX_SEGMENTS at 64.</summary>
    public const int MaxSegments = 64;

    /// <summary>The payload of one UDP message over IPv4: 65535 - 20 (IP) - 8 (UDP); the kernel rejects more.</summary>
    public const int MaxGsoBytes = 65507;

    private const int NameSize = 28; // sockaddr_in6
    private static readonly int ControlSpace = LibC.CmsgSpace(sizeof(ushort));

    private readonly LibC.MMsgHdr* _messages;
    private readonly LibC.IoVec* _iovs;
    private readonly byte* _control;
    private readonly byte* _name;
    private readonly int[] _firstDatagram = new int[MaxDatagrams];
    private readonly bool _socketIsIPv6;
#pragma warning disable IDE0052 // Keeps the pinned scratch block alive; only its address is used.
    private readonly byte[] _scratch;
#pragma warning restore IDE0052
    private volatile bool _gso;

    public SegmentSender(bool gso, AddressFamily socketFamily)
    {
        _gso = gso;
        _socketIsIPv6 = socketFamily == AddressFamily.InterNetworkV6;
        int messagesBytes = MaxDatagrams * sizeof(LibC.MMsgHdr);
        int iovBytes = MaxDatagrams * sizeof(LibC.IoVec);
        int controlBytes = MaxDatagrams * ControlSpace;
        _scratch = GC.AllocateArray<byte>(messagesBytes + iovBytes + controlBytes + 32 + 8, pinned: true);
        byte* p = (byte*)(((nint)Marshal.UnsafeAddrOfPinnedArrayElement(_scratch, 0) + 7) & ~(nint)7);
        _messages = (LibC.MMsgHdr*)p;
        _iovs = (LibC.IoVec*)(p + messagesBytes);
        _control = p + messagesBytes + iovBytes;
        _name = _control + controlBytes;
    }

    public bool GsoEnabled => _gso;

    public bool Send(int fd, PacketBatch batch, int start, int count, SocketAddress to)
    {
        uint nameLength = WriteName(to);
        if (nameLength == 0)
        {
            return false;
        }
        int end = start + count;
        int next = start;
        // Cleared for the rest of this call when a GSO message fails for a reason other than EIO.
        bool gsoAllowed = true;
        while (next < end)
        {
            bool gso = gsoAllowed && _gso;
            int messageCount = Build(batch, ref next, end, gso, nameLength);
            int sent = 0;
            while (sent < messageCount)
            {
                int r = LibC.SendMMsg(fd, _messages + sent, (uint)(messageCount - sent), 0);
                if (r > 0)
                {
                    sent += r;
                    continue;
                }
                int errno = r == 0 ? 0 : Marshal.GetLastPInvokeError();
                if (errno == LibC.EINTR)
                {
                    continue;
                }
                if (errno == LibC.EAGAIN)
                {
                    if (!UdpWait.ForWritable(fd))
                    {
                        return false;
                    }
                    continue;
                }
                if (_messages[sent].Header.Control != null)
                {
                    // A segmented message failed. EIO means the route's device lacks checksum offload,
                    // which will not change: turn GSO off for good, as wireguard-go does. Anything else
                    // (e.g. EINVAL for a segment above the path MTU) retries this run unsegmented once.
                    if (errno == LibC.EIO)
                    {
                        _gso = false;
                    }
                    gsoAllowed = false;
                    next = _firstDatagram[sent];
                    break;
                }
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Fills mmsghdrs from datagram <paramref name="next"/> on, advancing it; returns the message count.
    /// </summary>
    private int Build(PacketBatch batch, ref int next, int end, bool gso, uint nameLength)
    {
        int messageCount = 0;
        int iovCount = 0;
        while (next < end && iovCount < MaxDatagrams)
        {
            int first = next;
            int segment = batch.Length(first);
            int total = segment;
            int segments = 1;
            next++;
            if (gso && segment > 0)
            {
                // Same-size datagrams join the message; a shorter one may end it (UDP GSO rule).
                while (next < end && segments < MaxSegments && iovCount + segments < MaxDatagrams)
                {
                    int length = batch.Length(next);
                    if (length > segment || length == 0 || total + length > MaxGsoBytes)
                    {
                        break;
                    }
                    total += length;
                    segments++;
                    next++;
                    if (length < segment)
                    {
                        break;
                    }
                }
            }

            LibC.IoVec* iov = _iovs + iovCount;
            for (int k = 0; k < segments; k++)
            {
                int slot = first + k;
                iov[k].Base = batch.Address(slot, batch.DataOffset(slot));
                iov[k].Length = (nuint)batch.Length(slot);
            }

            LibC.MsgHdr* h = &_messages[messageCount].Header;
            h->Name = _name;
            h->NameLength = nameLength;
            h->Iov = iov;
            h->IovLength = (nuint)segments;
            h->Flags = 0;
            if (segments > 1)
            {
                byte* c = _control + (messageCount * ControlSpace);
                LibC.CMsgHdr* cmsg = (LibC.CMsgHdr*)c;
                cmsg->Length = (nuint)LibC.CmsgLen(sizeof(ushort)); // the kernel checks it is exactly this
                cmsg->Level = LibC.SOL_UDP;
                cmsg->Type = LibC.UDP_SEGMENT;
                *(ushort*)(c + LibC.CmsgHeaderSize) = (ushort)segment;
                h->Control = c;
                h->ControlLength = (nuint)ControlSpace;
            }
            else
            {
                h->Control = null;
                h->ControlLength = 0;
            }
            _messages[messageCount].Length = 0;
            _firstDatagram[messageCount] = first;
            messageCount++;
            iovCount += segments;
        }
        return messageCount;
    }

    /// <summary>
    /// Copies the destination sockaddr to scratch; an IPv4 address on the dual-mode IPv6 socket becomes
    /// v4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2). Returns its length, 0 when unusable.
    /// </summary>
    private uint WriteName(SocketAddress to)
    {
        ReadOnlySpan<byte> source = to.Buffer.Span[..to.Size];
        Span<byte> name = new(_name, NameSize);
        if (_socketIsIPv6 && to.Family == AddressFamily.InterNetwork)
        {
            if (source.Length < 8)
            {
                return 0;
            }
            name.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(name, LibC.AF_INET6); // sa_family_t is host order (LE on x86-64/arm64)
            source.Slice(2, 2).CopyTo(name[2..]);                      // port, network order
            name[18] = 0xff;
            name[19] = 0xff;
            source.Slice(4, 4).CopyTo(name[20..]);                     // sin6_addr bytes 12..15
            return NameSize;
        }
        if (source.Length > NameSize || source.Length < 2)
        {
            return 0;
        }
        source.CopyTo(name);
        return (uint)source.Length;
    }
}
