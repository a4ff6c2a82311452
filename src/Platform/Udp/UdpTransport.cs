using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Interop.Linux;

namespace JumpingVpn.Platform.Udp;

/// <summary>
/// The interface's one UDP socket for IPv4 and IPv6 (an IPv6 socket in dual mode; IPv4-only when the
/// host has IPv6 disabled). Blocking calls on dedicated threads; the SocketAddress overloads of
/// ReceiveFrom/SendTo (.NET 8+) allocate nothing per datagram.
/// The data plane uses the batched calls instead (<see cref="ReceiveBatch"/>, <see cref="SendSegments"/>:
/// recvmmsg/sendmmsg plus UDP GRO/GSO when the kernel has them, docs/data-plane.md §0 and §1.4). One thread
/// receives and one sends; each batched direction has its own scratch memory.
/// Elsewhere (Windows) the same two calls fall back to plain Socket calls, one datagram per receive and
/// one SendTo per datagram (<see cref="Batched"/> is false); on Windows the socket also gets
/// SIO_UDP_CONNRESET off and can be pinned to a physical interface (<see cref="BindToInterface"/>,
/// docs/platform.md §3.2). The packet loops see it as an <see cref="IDatagramTransport"/>.
/// </summary>
public sealed class UdpTransport : IDatagramTransport
{
    private const int BufferBytes = 8 << 20;

    /// <summary>A GRO super-datagram can be up to 64 KB; smaller slots would truncate it, so GRO stays off for them.</summary>
    public const int GroSlotCapacity = IDatagramTransport.GroSlotCapacity;

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly int _fd;
    private readonly BatchReceiver? _receiver;
    private readonly SegmentSender? _sender;
    private bool _groArmed;
    private int _closed;

    private UdpTransport(Socket socket, bool dualMode, bool allowGso, bool allowGro, bool batched)
    {
        _socket = socket;
        DualMode = dualMode;
        LocalPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        _handle = socket.SafeHandle;
        Batched = batched;
        if (!batched)
        {
            _fd = -1;
            return;
        }
        // The Socket keeps owning the fd (lifetime, close); the batched paths call libc on the raw fd.
        _fd = (int)_handle.DangerousGetHandle();
        _receiver = new BatchReceiver();
        _sender = new SegmentSender(allowGso && UdpOffloads.ProbeGso(_fd), socket.AddressFamily);
        // Probe now, arm on the first ReceiveBatch: a GRO socket hands out coalesced datagrams, which the
        // single-datagram Receive (handshake path) cannot represent.
        GroEnabled = allowGro && UdpOffloads.SetGro(_fd, true) && UdpOffloads.SetGro(_fd, false);
    }

    /// <summary>
    /// True on Linux: ReceiveBatch/SendSegments use recvmmsg/sendmmsg (and GRO/GSO when enabled). False
    /// elsewhere: they move one datagram per Socket call.
    /// </summary>
    public bool Batched { get; }

    /// <summary>Whether <see cref="SendSegments"/> uses UDP GSO (cleared for good if the kernel answers EIO).</summary>
    public bool GsoEnabled => _sender?.GsoEnabled ?? false;

    /// <summary>Whether <see cref="ReceiveBatch"/> uses UDP GRO (with slots of at least <see cref="GroSlotCapacity"/>).</summary>
    public bool GroEnabled { get; }

    public int LocalPort { get; }

    /// <summary>True for a dual-stack IPv6 socket: IPv4 peers are addressed as v4-mapped IPv6.</summary>
    public bool DualMode { get; }

    public AddressFamily Family => _socket.AddressFamily;

    /// <summary>
    /// Binds the listen port (0 = any free port) on all addresses. UDP GSO/GRO are used when the kernel
    /// supports them, unless JVPN_DISABLE_GSO=1 / JVPN_DISABLE_GRO=1 force the fallbacks.
    /// </summary>
    public static UdpTransport Bind(int port) => Bind(
        port,
        allowGso: !UdpOffloads.DisabledByEnvironment(UdpOffloads.DisableGsoVariable),
        allowGro: !UdpOffloads.DisabledByEnvironment(UdpOffloads.DisableGroVariable));

    /// <summary>
    /// A path socket (docs/design.md §4): an ephemeral port whose packets enter and leave only through
    /// <paramref name="device"/> (SO_BINDTODEVICE, set before bind so CAP_NET_RAW is not needed on
    /// Linux ≥ 5.7, docs/platform.md §4.4). Same family and offloads as <see cref="Bind(int)"/>, so an
    /// endpoint encoded for the primary socket works here too.
    /// </summary>
    public static UdpTransport BindToInterface(string device) => Bind(
        0,
        allowGso: !UdpOffloads.DisabledByEnvironment(UdpOffloads.DisableGsoVariable),
        allowGro: !UdpOffloads.DisabledByEnvironment(UdpOffloads.DisableGroVariable),
        device);

    /// <summary>The interface this socket is bound to (null: follows the routing table).</summary>
    public string? Device { get; private init; }

    /// <summary>The raw descriptor, for <see cref="UdpPoller"/>.</summary>
    internal int Fd => _fd;

    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Binds with the portable path: one datagram per Socket call, no offloads (what Windows
    /// uses; works on any OS).</summary>
    public static UdpTransport BindUnbatched(int port) => Bind(port, allowGso: false, allowGro: false, batched: false);

    /// <summary>
    /// The listen port for several receive threads (docs/threads.md "Receive threads"): <paramref name="count"/>
    /// sockets in one SO_REUSEPORT group on <paramref name="port"/> (0 = a free port, which the first socket
    /// picks and the others join), so the kernel spreads incoming datagrams over them by a hash of the 4-tuple
    /// and each receive thread drains its own socket and buffer. Element 0 is the interface's primary socket
    /// (it also sends). For Linux, whose SO_REUSEPORT balances datagrams (the Linux host platform calls it;
    /// others bind one socket); a count of 1 is one plain socket as <see cref="Bind(int)"/>.
    /// A port held by anyone else fails as "already in use", as for one socket: a plain bind is tried first,
    /// because a group would otherwise let a second jvpn with the same ListenPort silently share the port.
    /// </summary>
    public static UdpTransport[] BindGroup(int port, int count) => BindGroup(
        port,
        count,
        allowGso: !UdpOffloads.DisabledByEnvironment(UdpOffloads.DisableGsoVariable),
        allowGro: !UdpOffloads.DisabledByEnvironment(UdpOffloads.DisableGroVariable));

    internal static UdpTransport[] BindGroup(int port, int count, bool allowGso, bool allowGro)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (count == 1)
        {
            return [Bind(port, allowGso, allowGro)];
        }
        if (port != 0)
        {
            // Nobody may hold the port: the plain probe fails with "already in use" exactly as a lone socket would.
            Bind(port, allowGso: false, allowGro: false, batched: false).Dispose();
        }
        var group = new UdpTransport[count];
        int made = 0;
        try
        {
            group[made++] = Bind(port, allowGso, allowGro, reusePort: true);
            for (; made < count; made++)
            {
                group[made] = Bind(group[0].LocalPort, allowGso, allowGro, reusePort: true);
            }
        }
        catch
        {
            for (int i = 0; i < made; i++)
            {
                group[i]?.Dispose();
            }
            throw;
        }
        return group;
    }

    /// <summary>Whether this socket is one of a SO_REUSEPORT group (<see cref="BindGroup(int, int)"/>).</summary>
    public bool ReusePort { get; private init; }

    /// <summary><paramref name="batched"/> false forces the portable one-datagram-per-call path (the
    /// Windows path), so it can be tested on Linux too; null means "batched on Linux".</summary>
    internal static UdpTransport Bind(int port, bool allowGso, bool allowGro, string? device = null, bool? batched = null, bool reusePort = false)
    {
        Socket? socket = null;
        bool dual = false;
        try
        {
            if (Socket.OSSupportsIPv6)
            {
                socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
                BindToDevice(socket, device);
                SetReusePort(socket, reusePort);
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                dual = true;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported or SocketError.AddressNotAvailable)
        {
            socket?.Dispose();
            socket = null;
        }
        catch (SocketException ex)
        {
            socket?.Dispose();
            throw BindError(port, ex);
        }
        if (socket is null)
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                BindToDevice(socket, device);
                SetReusePort(socket, reusePort);
                socket.Bind(new IPEndPoint(IPAddress.Any, port));
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                throw BindError(port, ex);
            }
        }
        Tune(socket);
        if (OperatingSystem.IsWindows())
        {
            // Otherwise an ICMP port-unreachable for an earlier send fails the next ReceiveFrom with
            // WSAECONNRESET (docs/platform.md §3.2).
            Net.Windows.UdpSocketOptions.DisableConnectionReset(socket);
        }
        bool batch = batched ?? OperatingSystem.IsLinux();
        return new UdpTransport(socket, dual, allowGso && batch, allowGro && batch, batch) { Device = device, ReusePort = reusePort };
    }

    /// <summary>SO_REUSEPORT before bind: every socket of a group, the first one included, must set it.</summary>
    private static void SetReusePort(Socket socket, bool on)
    {
        if (on)
        {
            socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_REUSEPORT, BitConverter.GetBytes(1));
        }
    }

    private static void BindToDevice(Socket socket, string? device)
    {
        if (device is null)
        {
            return;
        }
        byte[] name = new byte[System.Text.Encoding.ASCII.GetByteCount(device) + 1];
        System.Text.Encoding.ASCII.GetBytes(device, name);
        try
        {
            socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_BINDTODEVICE, name);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new PlatformException($"cannot bind a UDP socket to interface {device}: {ex.Message}");
        }
    }

    private static PlatformException BindError(int port, SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => new PlatformException($"UDP port {port} is already in use (another WireGuard or jvpn instance?); choose another ListenPort", PlatformErrorKind.AlreadyInUse),
        SocketError.AccessDenied => new PlatformException($"binding UDP port {port} was denied: {ex.Message}"),
        _ => new PlatformException($"cannot bind UDP port {port}: {ex.Message}"),
    };

    /// <summary>
    /// Large buffers absorb bursts between the two packet threads (docs/data-plane.md §1.2: wireguard-go's 7 MB
    /// buffers removed its retransmits). The *FORCE variants pass the sysctl cap with CAP_NET_ADMIN.
    /// </summary>
    private static void Tune(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            socket.ReceiveBufferSize = BufferBytes;
            socket.SendBufferSize = BufferBytes;
            return;
        }
        try
        {
            socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, BitConverter.GetBytes(BufferBytes));
            socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, BitConverter.GetBytes(BufferBytes));
        }
        catch (SocketException)
        {
            socket.ReceiveBufferSize = BufferBytes;
            socket.SendBufferSize = BufferBytes;
        }
    }

    /// <summary>The socket's SO_MARK as the kernel holds it (Linux; for tests and diagnostics).</summary>
    internal uint ReadFwMark()
    {
        Span<byte> value = stackalloc byte[sizeof(uint)];
        _ = _socket.GetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_MARK, value);
        return BitConverter.ToUInt32(value);
    }

    /// <summary>SO_MARK: packets of this socket carry the mark, so policy routing can exempt them from the tunnel.</summary>
    public void SetFwMark(uint mark)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformException($"FwMark = {mark}: fwmarks exist only on Linux; remove FwMark from the config");
        }
        try
        {
            _socket.SetRawSocketOption(LibC.SOL_SOCKET, LibC.SO_MARK, BitConverter.GetBytes(mark));
        }
        catch (SocketException ex)
        {
            throw new PlatformException($"setting fwmark {mark} on the UDP socket failed ({ex.Message}); it needs CAP_NET_ADMIN");
        }
    }

    /// <summary>
    /// Pins outbound datagrams to the interface with <paramref name="interfaceIndex"/> (IP_UNICAST_IF /
    /// IPV6_UNICAST_IF; 0 unpins), so a full tunnel's default route cannot swallow them (docs/platform.md §3.2).
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    public void PinToInterface(uint interfaceIndex)
    {
        try
        {
            Net.Windows.UdpSocketOptions.BindToInterface(_socket, interfaceIndex);
        }
        catch (SocketException ex)
        {
            throw new PlatformException($"binding the UDP socket to interface {interfaceIndex} failed: {ex.Message}");
        }
    }

    public SocketAddress CreateAddressBuffer() => new(_socket.AddressFamily);

    /// <summary>
    /// Receives one datagram; returns its length, or -1 once the socket was closed. Turns GRO off if
    /// ReceiveBatch had armed it (datagrams already queued coalesced stay so: do not mix the two calls).
    /// </summary>
    public int Receive(Span<byte> buffer, SocketAddress from)
    {
        if (_groArmed && Volatile.Read(ref _closed) == 0)
        {
            ArmGro(false);
        }
        while (Volatile.Read(ref _closed) == 0)
        {
            try
            {
                return _socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset
                or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize or SocketError.Interrupted)
            {
                // ICMP errors for earlier sends surface here; they say nothing about this receive.
            }
            catch (SocketException) when (Volatile.Read(ref _closed) != 0)
            {
                return -1;
            }
            catch (ObjectDisposedException)
            {
                return -1;
            }
        }
        return -1;
    }

    /// <summary>Sends one datagram; false on any error (unreachable, no route, closed).</summary>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        try
        {
            return _socket.SendTo(datagram, SocketFlags.None, to) == datagram.Length;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// One recvmmsg: blocks until a message arrives, then fills up to batch.Slots (≤ 128) slots at data
    /// offset 0 and sets <c>batch.Count</c>. For message i, <paramref name="sources"/>[i] (preallocated via
    /// <see cref="CreateAddressBuffer"/>) receives the sender and <paramref name="segmentSizes"/>[i] the GRO
    /// segment size: 0 for a single datagram, else the message holds datagrams of that size back to back
    /// (the last may be shorter). A truncated message (slot too small) has length 0.
    /// Returns the message count, or -1 once the socket was closed. Allocation-free.
    /// </summary>
    public int ReceiveBatch(PacketBatch batch, SocketAddress[] sources, int[] segmentSizes)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(segmentSizes);
        if (!Batched)
        {
            return ReceiveOne(batch, sources, segmentSizes);
        }
        if (!TryEnter())
        {
            return -1;
        }
        try
        {
            bool wantGro = GroEnabled && batch.SlotCapacity >= GroSlotCapacity;
            if (wantGro != _groArmed)
            {
                ArmGro(wantGro);
            }
            return _receiver!.Receive(_fd, batch, sources, segmentSizes, ref _closed);
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Sends batch.Packet(start) … batch.Packet(start + count - 1), each as its own datagram, to
    /// <paramref name="to"/>: UDP GSO messages for runs of equal-size datagrams (≤ 64 segments, ≤ 65507
    /// bytes each) when <see cref="GsoEnabled"/>, and one sendmmsg per up to 128 datagrams.
    /// False if any datagram could not be sent (no route, closed, …). Allocation-free.
    /// </summary>
    public bool SendSegments(PacketBatch batch, int start, int count, SocketAddress to)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(start + count, batch.Slots, nameof(count));
        if (count == 0)
        {
            return true;
        }
        if (!Batched)
        {
            return SendEach(batch, start, count, to);
        }
        if (!TryEnter())
        {
            return false;
        }
        try
        {
            return _sender!.Send(_fd, batch, start, count, to);
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>The portable receive: one blocking ReceiveFrom into slot 0 (no GRO, so segment size 0).</summary>
    private int ReceiveOne(PacketBatch batch, SocketAddress[] sources, int[] segmentSizes)
    {
        int n = Receive(batch.Data(0), sources[0]);
        // After Close, shutdown() makes a blocked recvfrom return 0 on Linux: that is no datagram.
        if (n < 0 || Volatile.Read(ref _closed) != 0)
        {
            batch.Count = 0;
            return -1;
        }
        batch.SetPacket(0, 0, n);
        segmentSizes[0] = 0;
        batch.Count = 1;
        return 1;
    }

    /// <summary>The portable send: one SendTo per datagram; false if any failed (the rest are still sent).</summary>
    private bool SendEach(PacketBatch batch, int start, int count, SocketAddress to)
    {
        bool ok = true;
        for (int i = start; i < start + count; i++)
        {
            ok &= Send(batch.Packet(i), to);
        }
        return ok;
    }

    /// <summary>One poll(2) over <paramref name="transports"/>, which must all be UDP sockets (<see cref="UdpPoller"/>).</summary>
    public int WaitReadable(ReadOnlySpan<IDatagramTransport> transports, Span<bool> readable, int timeoutMs) =>
        UdpPoller.WaitReadable(transports, readable, timeoutMs);

    /// <summary>
    /// Holds a reference on the socket handle for a raw-fd call, so Close cannot release the fd number
    /// (and let it be reused) while a batched call still uses it. False once closed.
    /// </summary>
    private bool TryEnter()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return added;
    }

    private void ArmGro(bool on) => _groArmed = UdpOffloads.SetGro(_fd, on) ? on : _groArmed;

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            // shutdown() wakes a thread blocked in recvfrom on Linux; Dispose alone does not.
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            _socket.Dispose();
        }
    }

    public void Dispose() => Close();
}
