using System.Runtime.InteropServices;
using System.Text;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Interop.Linux;
using JumpingVpn.Platform.Tun.Offload;

namespace JumpingVpn.Platform.Tun.Linux;

/// <summary>
/// /dev/net/tun opened with IFF_TUN | IFF_NO_PI (Documentation/networking/tuntap.rst): one read or
/// write is one IP packet. Optionally with IFF_VNET_HDR and TUNSETOFFLOAD, so one read returns a TCP
/// (or UDP) super-packet of up to 64 KB and one write can deliver a coalesced one, each behind a
/// 10-byte virtio-net header (the wireguard-go tun_linux.go design); <see cref="ReadBatch"/> and
/// <see cref="WriteBatch"/> do the splitting and coalescing. One read() returns one packet when the
/// sender did not use GSO (iperf3 UDP, most inner UDP): <see cref="ReadBatch"/> then keeps reading
/// without blocking until the queue is empty or the batch full, so the sender can seal the lot and
/// leave it in one sendmmsg (docs/performance.md "Inner UDP"). The device is not persistent, so the kernel deletes the interface (and its
/// addresses and routes) when the descriptor closes, also when the process crashes.
/// The descriptor is non-blocking; Read drains until EAGAIN and then polls the TUN together with an
/// eventfd that <see cref="Close"/> signals, which is how a blocked reader is woken reliably.
/// </summary>
public sealed unsafe class LinuxTunDevice : ITunDevice
{
    /// <summary>Room for one read: the virtio-net header plus the largest IP packet.</summary>
    private const int ReadBufferSize = VirtioNetHeader.Size + 65535;

    private readonly int _fd;
    private readonly int _wakeFd;
    private readonly byte[]? _readBuffer;       // offload only: the raw read (header + super-packet)
    private readonly bool _coalesceUdp;         // offload only: coalescers merge UDP too
    private GroCoalescer? _gro;                 // offload only, on first use: WriteBatch's own coalescer (the loops' writers have theirs)
    private readonly Func<ReadOnlySpan<byte>, bool>? _writeFramed; // cached: no delegate per flush
    private readonly GroCoalescer.GatherWriter? _writeGathered;     // null: merged packets are assembled, then written
    private PacketBatch? _readSplit;            // offload only, lazily: Read()'s segments
    private int _readSplitNext;
    private int _pendingFrame;                  // offload only: a read kept for the next batch (length incl. header), 0 if none
    private int _closed;

    private LinuxTunDevice(string name, int fd, int wakeFd, bool offload, bool udpOffload)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
        OffloadEnabled = offload;
        UdpOffloadEnabled = udpOffload;
        DrainsReads = Environment.GetEnvironmentVariable("JVPN_DISABLE_TUN_DRAIN") != "1";
        if (offload)
        {
            _readBuffer = GC.AllocateArray<byte>(ReadBufferSize, pinned: true);
            bool udpGro = udpOffload && Environment.GetEnvironmentVariable("JVPN_DISABLE_TUN_UDP_GRO") != "1";
            _coalesceUdp = udpGro;
            _writeFramed = WriteRaw;
            // JVPN_DISABLE_TUN_GATHER=1 assembles each merged packet before its write (A/B runs, tests).
            _writeGathered = Environment.GetEnvironmentVariable("JVPN_DISABLE_TUN_GATHER") == "1" ? null : WriteGathered;
        }
    }

    public string Name { get; }

    /// <summary>True when the device was opened with IFF_VNET_HDR and the kernel accepted
    /// TUNSETOFFLOAD (checksum + TSO4/6): reads may return TCP super-packets (split by
    /// <see cref="ReadBatch"/>), and <see cref="WriteBatch"/> coalesces TCP segments.</summary>
    public bool OffloadEnabled { get; }

    /// <summary>True when the kernel also accepted UDP segmentation offload (USO, Linux 6.2+).</summary>
    public bool UdpOffloadEnabled { get; }

    /// <summary>True when <see cref="WriteBatch"/> merges UDP datagrams of a flow into one GSO_UDP_L4
    /// write: needs USO; JVPN_DISABLE_TUN_UDP_GRO=1 switches it off (A/B runs, tests).</summary>
    public bool UdpCoalescingEnabled => OffloadEnabled && _coalesceUdp;

    /// <summary>True when <see cref="ReadBatch"/> keeps reading until the TUN queue is empty or the
    /// batch full; JVPN_DISABLE_TUN_DRAIN=1 makes it return after one read (A/B runs, tests).</summary>
    public bool DrainsReads { get; }

    /// <summary>A plain device without offloads (one packet per read/write).</summary>
    public static LinuxTunDevice Create(string name) => Create(name, offload: false);

    /// <summary>
    /// Creates the interface. With <paramref name="offload"/>, tries IFF_VNET_HDR + TUNSETOFFLOAD
    /// (TUN_F_CSUM|TSO4|TSO6, plus USO4|USO6 where the kernel knows them) and falls back to a plain
    /// device if the kernel refuses; <see cref="OffloadEnabled"/> tells which one was made. The
    /// environment variable JVPN_DISABLE_TUN_OFFLOAD=1 forces the plain device.
    /// </summary>
    public static LinuxTunDevice Create(string name, bool offload)
    {
        if (string.IsNullOrEmpty(name) || Encoding.ASCII.GetByteCount(name) >= LibC.IFNAMSIZ)
        {
            throw new PlatformException($"interface name '{name}' must be 1 to 15 characters");
        }
        if (offload && Environment.GetEnvironmentVariable("JVPN_DISABLE_TUN_OFFLOAD") == "1")
        {
            offload = false;
        }
        int fd = -1;
        bool udpOffload = false;
        if (offload)
        {
            fd = TryOpenWithOffload(name, out udpOffload);
            offload = fd >= 0;
        }
        if (fd < 0)
        {
            fd = OpenDevice(name, LibC.IFF_TUN | LibC.IFF_NO_PI, out int errno);
            if (fd < 0)
            {
                throw SetIffError(name, errno);
            }
        }
        int wake = LibC.EventFd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        if (wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw new PlatformException($"eventfd failed: {LibC.ErrorText(errno)}", errno);
        }
        return new LinuxTunDevice(name, fd, wake, offload, udpOffload);
    }

    /// <summary>Returns the descriptor, or -1 if the kernel refused the offload setup (the caller then
    /// opens a plain device; a non-persistent TUN disappears with its descriptor, so the name is free).</summary>
    private static int TryOpenWithOffload(string name, out bool udpOffload)
    {
        udpOffload = false;
        int fd = OpenDevice(name, LibC.IFF_TUN | LibC.IFF_NO_PI | LibC.IFF_VNET_HDR, out _);
        if (fd < 0)
        {
            return -1; // the plain attempt reports the real error (name in use, no permission)
        }
        uint tcp = LibC.TUN_F_CSUM | LibC.TUN_F_TSO4 | LibC.TUN_F_TSO6;
        if (LibC.Ioctl(fd, LibC.TUNSETOFFLOAD, (void*)(nuint)(tcp | LibC.TUN_F_USO4 | LibC.TUN_F_USO6)) == 0)
        {
            udpOffload = true;
            return fd;
        }
        // Kernels before 6.2 reject the USO bits with EINVAL: retry with TCP only.
        if (Marshal.GetLastPInvokeError() == LibC.EINVAL && LibC.Ioctl(fd, LibC.TUNSETOFFLOAD, (void*)(nuint)tcp) == 0)
        {
            return fd;
        }
        LibC.Close(fd);
        return -1;
    }

    /// <summary>Opens /dev/net/tun and attaches it to <paramref name="name"/>; -1 and errno when
    /// TUNSETIFF fails. Failing to open /dev/net/tun itself throws (nothing to fall back to).</summary>
    private static int OpenDevice(string name, short flags, out int errno)
    {
        errno = 0;
        int fd = LibC.Open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
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
        req.Flags = flags;
        if (LibC.Ioctl(fd, LibC.TUNSETIFF, &req) < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            return -1;
        }
        return fd;
    }

    private static PlatformException SetIffError(string name, int errno) => errno switch
    {
        LibC.EPERM or LibC.EACCES => new PlatformException($"creating TUN interface {name} needs root or CAP_NET_ADMIN", errno),
        LibC.EBUSY => new PlatformException($"an interface named {name} already exists (is another jvpn or wireguard running? try 'jvpn down {name}' or 'ip link del {name}')", PlatformErrorKind.AlreadyInUse, errno),
        LibC.EINVAL => new PlatformException($"cannot create TUN interface {name}: the name is taken by a device of another type; choose another config file name", errno),
        _ => new PlatformException($"cannot create TUN interface {name}: {LibC.ErrorText(errno)}", errno),
    };

    /// <summary>
    /// Reads one IP packet. With offloads on, a TCP/UDP super-packet is split and its segments are
    /// returned by this and the following calls (<see cref="ReadBatch"/> is the efficient path).
    /// A packet larger than <paramref name="buffer"/> is dropped.
    /// </summary>
    public int Read(Span<byte> buffer)
    {
        if (!OffloadEnabled)
        {
            fixed (byte* p = buffer)
            {
                return (int)ReadRaw(p, buffer.Length);
            }
        }
        while (true)
        {
            PacketBatch? pending = _readSplit;
            if (pending is not null && _readSplitNext < pending.Count)
            {
                Span<byte> packet = pending.Packet(_readSplitNext++);
                if (packet.Length <= buffer.Length)
                {
                    packet.CopyTo(buffer);
                    return packet.Length;
                }
                continue;
            }
            int n = ReadOffloaded(out VirtioNetHeader header);
            if (n == 0)
            {
                return 0;
            }
            Span<byte> raw = _readBuffer.AsSpan(VirtioNetHeader.Size, n);
            if ((header.GsoType & ~VirtioNetHeader.GsoEcn) == VirtioNetHeader.GsoNone)
            {
                // Common case: one packet; finish its checksum in place and hand it over.
                if (raw.Length > buffer.Length
                    || ((header.Flags & VirtioNetHeader.FlagNeedsCsum) != 0 && !GsoSplitter.CompleteChecksum(raw, header.CsumStart, header.CsumOffset)))
                {
                    continue;
                }
                raw.CopyTo(buffer);
                return raw.Length;
            }
            int needed = Math.Min(raw.Length, header.HdrLen + header.GsoSize + 128);
            if (_readSplit is null || _readSplit.SlotCapacity < needed)
            {
                // Sized from the first super-packet seen (hdr_len is only a hint; +128 covers the
                // headers it may leave out). Reallocated only if a larger segment size shows up.
                _readSplit = new PacketBatch(128, Math.Max(2048, needed), 0);
            }
            _readSplitNext = 0;
            GsoSplitter.Split(header, raw, _readSplit);
        }
    }

    /// <summary>
    /// One blocking read() turned into plain IP packets in <paramref name="output"/> (slot i holds
    /// packet i at data offset 0, so the slot headroom is free for the WireGuard header), followed by
    /// non-blocking reads while the TUN has more queued and the batch has room (<see cref="DrainsReads"/>).
    /// Blocks like <see cref="Read"/>; returns the number of packets (also set as output.Count), or 0
    /// once closed. Super-packets that can never fit the batch (too many segments, segments larger
    /// than a slot) are dropped, as wireguard-go drops them; one that only misses the room left is
    /// kept for the next call, so nothing is reordered.
    /// </summary>
    public int ReadBatch(PacketBatch output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Count = 0;
        int count;
        if (!OffloadEnabled)
        {
            int n = (int)ReadRaw(output.Address(0), output.SlotCapacity);
            if (n <= 0)
            {
                return 0;
            }
            output.SetPacket(0, 0, n);
            count = 1;
            while (DrainsReads && count < output.Slots)
            {
                n = (int)ReadNow(output.Address(count), output.SlotCapacity);
                if (n <= 0)
                {
                    break;
                }
                output.SetPacket(count++, 0, n);
            }
            output.Count = count;
            return count;
        }
        do
        {
            int n = ReadOffloaded(out VirtioNetHeader header);
            if (n == 0)
            {
                return 0;
            }
            count = GsoSplitter.SplitAt(header, _readBuffer.AsSpan(VirtioNetHeader.Size, n), output, 0);
        }
        while (count <= 0);
        while (DrainsReads && count < output.Slots)
        {
            int n = ReadOffloadedNow(out VirtioNetHeader header);
            if (n < 0)
            {
                break;
            }
            int added = GsoSplitter.SplitAt(header, _readBuffer.AsSpan(VirtioNetHeader.Size, n), output, count);
            if (added == GsoSplitter.NoRoom)
            {
                _pendingFrame = VirtioNetHeader.Size + n;
                break;
            }
            if (added > 0)
            {
                count += added;
            }
        }
        output.Count = count;
        return count;
    }

    /// <summary>
    /// Writes output.Packet(0..Count-1), plain IP packets. With offloads on, TCP segments of one flow
    /// are coalesced so that one write() carries up to 64 KB; otherwise one write per packet.
    /// Returns false if any packet could not be written (it is dropped; the others are still written).
    /// Single writer: not to be called concurrently with itself (another thread uses <see cref="CreateWriter"/>).
    /// </summary>
    public bool WriteBatch(PacketBatch input) => WriteBatch(input, OffloadEnabled ? _gro ??= new GroCoalescer(coalesceUdp: _coalesceUdp) : null);

    /// <summary>A writer for another thread: its own coalescer, the same descriptor (each write() is one
    /// whole frame, so writes from two threads never interleave within a packet).</summary>
    public ITunWriter CreateWriter() => new Writer(this, OffloadEnabled ? new GroCoalescer(coalesceUdp: _coalesceUdp) : null);

    private sealed class Writer(LinuxTunDevice device, GroCoalescer? gro) : ITunPacketQueue
    {
        public bool WriteBatch(PacketBatch input) => device.WriteBatch(input, gro);

        public bool Write(ReadOnlySpan<byte> packet) => device.Write(packet);

        public bool Queue(ReadOnlySpan<byte> packet) => gro is null ? device.Write(packet) : device.Queue(gro, packet);

        public bool Flush() => gro is null || device.Flush(gro);
    }

    private bool WriteBatch(PacketBatch input, GroCoalescer? gro)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool ok = true;
        if (gro is null)
        {
            for (int i = 0; i < input.Count; i++)
            {
                ok &= Write(input.Packet(i));
            }
            return ok;
        }
        for (int i = 0; i < input.Count; i++)
        {
            ok &= Queue(gro, input.Packet(i));
        }
        ok &= Flush(gro);
        return ok;
    }

    private bool Queue(GroCoalescer gro, ReadOnlySpan<byte> packet)
    {
        if (gro.Add(packet))
        {
            return true;
        }
        bool ok = Flush(gro);
        if (!gro.Add(packet))
        {
            ok &= Write(packet); // can never be queued (empty or oversized): let the kernel judge it
        }
        return ok;
    }

    private bool Flush(GroCoalescer gro) => _writeGathered is null ? gro.Flush(_writeFramed!) : gro.Flush(_writeFramed!, _writeGathered);

    /// <summary>One frame from its parts in one writev (a TUN write is one whole frame, whatever the iovecs).</summary>
    private bool WriteGathered(LibC.IoVec* parts, int count)
    {
        while (true)
        {
            if (LibC.Writev(_fd, parts, count) >= 0)
            {
                return true;
            }
            if (Marshal.GetLastPInvokeError() != LibC.EINTR)
            {
                return false;
            }
        }
    }

    public bool Write(ReadOnlySpan<byte> packet)
    {
        fixed (byte* p = packet)
        {
            if (!OffloadEnabled)
            {
                return WriteRaw(p, packet.Length);
            }
            // An all-zero virtio-net header (GSO_NONE, no checksum work), then the packet: writev
            // avoids copying the packet just to prepend 10 bytes.
            byte* header = stackalloc byte[VirtioNetHeader.Size];
            new Span<byte>(header, VirtioNetHeader.Size).Clear();
            LibC.IoVec* iov = stackalloc LibC.IoVec[2];
            iov[0] = new LibC.IoVec { Base = header, Length = VirtioNetHeader.Size };
            iov[1] = new LibC.IoVec { Base = p, Length = (nuint)packet.Length };
            while (true)
            {
                if (LibC.Writev(_fd, iov, 2) >= 0)
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

    private bool WriteRaw(ReadOnlySpan<byte> framed)
    {
        fixed (byte* p = framed)
        {
            return WriteRaw(p, framed.Length);
        }
    }

    private bool WriteRaw(byte* p, int length)
    {
        while (true)
        {
            nint n = LibC.Write(_fd, p, (nuint)length);
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

    /// <summary>One read into the offload buffer; returns the IP packet's length (after the
    /// virtio-net header), or 0 once closed. Runts shorter than the header are skipped.</summary>
    private int ReadOffloaded(out VirtioNetHeader header)
    {
        if (_pendingFrame > 0)
        {
            int kept = _pendingFrame;
            _pendingFrame = 0;
            header = VirtioNetHeader.Read(_readBuffer);
            return kept - VirtioNetHeader.Size;
        }
        fixed (byte* p = _readBuffer)
        {
            while (true)
            {
                nint n = ReadRaw(p, ReadBufferSize);
                if (n == 0)
                {
                    header = default;
                    return 0;
                }
                if (n > VirtioNetHeader.Size)
                {
                    header = VirtioNetHeader.Read(_readBuffer);
                    return (int)n - VirtioNetHeader.Size;
                }
            }
        }
    }

    /// <summary>A non-blocking read into the offload buffer: the IP packet's length, or -1 when nothing
    /// is queued (or the device closed; the next blocking read reports that). Runts are skipped.</summary>
    private int ReadOffloadedNow(out VirtioNetHeader header)
    {
        header = default;
        fixed (byte* p = _readBuffer)
        {
            while (true)
            {
                nint n = ReadNow(p, ReadBufferSize);
                if (n <= 0)
                {
                    return -1;
                }
                if (n > VirtioNetHeader.Size)
                {
                    header = VirtioNetHeader.Read(_readBuffer);
                    return (int)n - VirtioNetHeader.Size;
                }
            }
        }
    }

    /// <summary>One read that does not wait: the length, or 0 when nothing is queued, the device is
    /// closing or went away.</summary>
    private nint ReadNow(byte* p, int length)
    {
        while (Volatile.Read(ref _closed) == 0)
        {
            nint n = LibC.Read(_fd, p, (nuint)length);
            if (n > 0)
            {
                return n;
            }
            if (n < 0 && Marshal.GetLastPInvokeError() == LibC.EINTR)
            {
                continue;
            }
            return 0;
        }
        return 0;
    }

    /// <summary>Blocking read of one frame: drains until EAGAIN, then polls the TUN together with
    /// the wake eventfd. Returns the length, or 0 once closed or when the device went away.</summary>
    private nint ReadRaw(byte* p, int length)
    {
        LibC.PollFd* fds = stackalloc LibC.PollFd[2];
        while (Volatile.Read(ref _closed) == 0)
        {
            nint n = LibC.Read(_fd, p, (nuint)length);
            if (n > 0)
            {
                return n;
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
        return 0;
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
