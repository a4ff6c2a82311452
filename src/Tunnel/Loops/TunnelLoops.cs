using System.Net;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Keys;
using JumpingVpn.Tunnel.Noise;
using JumpingVpn.Tunnel.RateLimiting;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Tunnel.Loops;

/// <summary>
/// The I/O side of one interface: four dedicated threads, named as in wireguard-go.
/// <list type="number">
/// <item>RoutineReadFromTun: TUN read batch -> Encapsulate each in place -> UDP send in runs (GSO).</item>
/// <item>RoutineReceiveIncoming: UDP receive batch (GRO) -> Decapsulate each in place -> TUN write batch
/// (TCP GRO); handshake messages pass mac1, then the admission buckets, and are copied to the bounded
/// handshake queue. A server may run several, one per socket of a SO_REUSEPORT group, each on its own
/// <see cref="ReceiveLane"/> (docs/threads.md "Receive threads").</item>
/// <item>RoutineHandshake: DH budget, cookies, per-source rate limit of proven sources, Noise (cold path).</item>
/// <item>RoutineTimers: runs the peers' timers every 20 ms.</item>
/// </list>
/// The UDP side is an <see cref="IDatagramTransport"/> and the TUN an <see cref="ITunDevice"/>
/// (docs/data-plane.md §3.6), each called once per batch. Blocking syscalls on dedicated threads, no
/// async state machine per packet, so the steady state allocates nothing (measured by
/// <see cref="AllocatedBytesInLoops"/>). An exception in one batch is caught, counted and survived; a
/// loop that cannot continue ends the process (<see cref="LoopFaults"/>).
/// </summary>
public sealed class TunnelLoops : IDisposable
{
    private const long WarmupPackets = 1000;
    private readonly WireGuardDevice _device;
    private readonly ITunDevice _tun;
    private readonly IDatagramTransport _udp;
    private readonly PathSocketSet? _paths;
    private readonly ILogger _logger;
    private readonly HandshakeQueue _handshakes = new();
    private readonly HandshakeRateLimiter _rateLimiter = new();
    private readonly HandshakeAdmission _admission; // buckets under _admissionLock when there are several lanes
    private readonly Lock _admissionLock = new();
    private readonly ReceiveLane[] _lanes;
    private readonly HandshakeWorkBudget _work;     // handshake thread only
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _threads = [];
    private readonly LoopFaults _faults;
    private long _tunOversized;
    private long _tunAllocated;
    private long _tunPackets;

    /// <param name="paths">A client's per-interface path sockets (docs/design.md §4), received on the same
    /// thread as the primary socket; null for a server or a client without path management.</param>
    /// <param name="exitProcess">How a loop that cannot continue ends the process (default
    /// <see cref="Environment.Exit"/>); tests pass their own.</param>
    /// <param name="moreReceivers">More sockets on the listen port (the rest of a SO_REUSEPORT group), each read
    /// by a receive thread of its own (docs/threads.md "Receive threads"); the loops close them on Stop.</param>
    public TunnelLoops(WireGuardDevice device, ITunDevice tun, IDatagramTransport udp, ILogger logger, PathSocketSet? paths = null,
        Action<int>? exitProcess = null, IReadOnlyList<IDatagramTransport>? moreReceivers = null)
    {
        _device = device;
        _tun = tun;
        _udp = udp;
        _logger = logger;
        _paths = paths;
        _faults = new LoopFaults(logger, exitProcess ?? Environment.Exit);
        _lanes = CreateLanes(tun, udp, moreReceivers ?? []);
        long now = NowTicks();
        _admission = new HandshakeAdmission(AdmissionLimits.Default, now);
        _work = new HandshakeWorkBudget(now);
    }

    /// <summary>Bytes allocated by the packet threads (TUN read, every receive thread) since their warm-up (should stay 0).</summary>
    public long AllocatedBytesInLoops
    {
        get
        {
            long sum = Interlocked.Read(ref _tunAllocated);
            foreach (ReceiveLane lane in _lanes)
            {
                sum += lane.Allocated;
            }
            return sum;
        }
    }

    public long PacketsFromTun => Interlocked.Read(ref _tunPackets);

    public long PacketsFromUdp
    {
        get
        {
            long sum = 0;
            foreach (ReceiveLane lane in _lanes)
            {
                sum += lane.Packets;
            }
            return sum;
        }
    }

    /// <summary>How many receive threads the loops run (one per socket of the listen port).</summary>
    public int ReceiveThreads => _lanes.Length;

    /// <summary>Datagrams received per receive thread, in lane order (how the kernel spread them).</summary>
    public long PacketsFromUdpOnThread(int lane) => _lanes[lane].Packets;

    /// <summary>Handshake messages refused at admission because their source exceeded its bucket.</summary>
    public long HandshakesSourceLimited => _admission.SourceLimited;

    /// <summary>Handshake messages refused at admission because the interface-wide bucket was empty.</summary>
    public long HandshakesGlobalLimited => _admission.GlobalLimited;

    /// <summary>Initiations and responses dropped on the receive thread because their mac1 was invalid.</summary>
    public long HandshakesMac1Invalid => _admission.Mac1Invalid;

    /// <summary>Packets from the TUN too large to be sealed in their slot (dropped, counted).</summary>
    public long TunOversized => Interlocked.Read(ref _tunOversized);

    /// <summary>Batches lost to an exception, per loop (<c>jvpn_loop_faults_total</c>).</summary>
    public LoopFaults Faults => _faults;

    /// <summary>The loop threads <see cref="Start"/> created, so tests can see that <see cref="Stop"/> ended them.</summary>
    internal IReadOnlyList<Thread> Threads => _threads;

    /// <summary>Handshake messages admitted but dropped because the handshake queue was full.</summary>
    public long HandshakesQueueFull => _handshakes.Dropped;

    /// <summary>Times the DH budget ran out and put the device under load (cookies required) for a second.</summary>
    public long HandshakeWorkBudgetTrips => _work.Trips;

    public void Start()
    {
        // Warm the admission path's verifiers now, so a receive thread's first handshake allocates nothing.
        foreach (ReceiveLane lane in _lanes)
        {
            lane.Mac1(_device.Identity);
        }
        StartThread("jvpn-tun-read", PacketLoop.TunRead, RoutineReadFromTun);
        foreach (ReceiveLane lane in _lanes)
        {
            StartThread(lane.ThreadName, PacketLoop.UdpReceive, () => RoutineReceiveIncoming(lane));
        }
        StartThread("jvpn-handshake", PacketLoop.Handshake, RoutineHandshake);
        StartThread("jvpn-timers", PacketLoop.Timers, RoutineTimers);
    }

    /// <summary>
    /// Lane 0 reads the primary socket (and a client's path sockets) and writes through the device itself; each
    /// further socket gets a lane with its own TUN writer, or, where the device has only one writer, all lanes
    /// share it under a lock.
    /// </summary>
    private static ReceiveLane[] CreateLanes(ITunDevice tun, IDatagramTransport udp, IReadOnlyList<IDatagramTransport> more)
    {
        var lanes = new ReceiveLane[1 + more.Count];
        ITunWriter? shared = null;
        for (int i = 0; i < more.Count; i++)
        {
            ITunWriter? own = shared is null ? tun.CreateWriter() : null;
            if (own is null)
            {
                shared ??= new SerializedTunWriter(tun);
            }
            lanes[i + 1] = new ReceiveLane(i + 1, more[i], own ?? shared!);
        }
        if (shared is not null)
        {
            for (int i = 1; i < lanes.Length; i++)
            {
                lanes[i] = new ReceiveLane(i, more[i - 1], shared);
            }
        }
        // Lane 0 also takes a writer of its own where the device offers one, so it can queue decrypted packets
        // straight into the writer's coalescer (ITunPacketQueue) instead of copying them into a batch first.
        lanes[0] = new ReceiveLane(0, udp, shared ?? tun.CreateWriter() ?? new DirectTunWriter(tun));
        return lanes;
    }

    private void StartThread(string name, PacketLoop loop, Action body)
    {
        var t = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                // Outside any batch (the loop's set-up): there is nothing to retry.
                _faults.Fatal(loop, ex, "its set-up failed");
            }
        })
        { IsBackground = true, Name = name };
        _threads.Add(t);
        t.Start();
    }

    /// <summary>
    /// TUN -> peers. One ReadBatch is one read(): with TUN offloads a TCP super-packet of up to 64 KB
    /// already split into MTU-sized packets, each in its own slot with 16 bytes of headroom for the
    /// transport header. Each packet is sealed in place; runs going to the same endpoint leave in one
    /// sendmmsg, as UDP GSO super-datagrams where the kernel supports it (docs/data-plane.md §1.4).
    /// </summary>
    private void RoutineReadFromTun()
    {
        var batch = new PacketBatch(slots: 128, slotCapacity: _device.Mtu + 64, headroom: MessageLayout.TransportHeaderSize);
        var destinations = new SocketAddress?[batch.Slots];
        var vias = new IDatagramSender?[batch.Slots];
        var probe = new AllocationProbe(WarmupPackets);
        // The largest packet whose datagram (header + packet + tag, no padding past the MTU) fits the slot.
        int maxPacket = batch.Headroom + batch.SlotCapacity - MessageLayout.TransportHeaderSize - ChaChaPoly.TagSize;
        int consecutive = 0;
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = _tun.ReadBatch(batch);
                if (n <= 0)
                {
                    EndedUnexpectedly(PacketLoop.TunRead, "the TUN device closed (deleted?)");
                    break;
                }
                SealAndSend(batch, n, maxPacket, destinations, vias);
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                if (!Survive(PacketLoop.TunRead, ex, ref consecutive))
                {
                    return;
                }
                continue;
            }
            consecutive = 0;
            probe.Count(n);
            Interlocked.Exchange(ref _tunPackets, probe.Packets);
            Interlocked.Exchange(ref _tunAllocated, probe.Allocated);
        }
    }

    private void SealAndSend(PacketBatch batch, int n, int maxPacket, SocketAddress?[] destinations, IDatagramSender?[] vias)
    {
        long now = _device.NowNs(); // once per batch (docs/performance.md "Packet-thread profile")
        for (int i = 0; i < n; i++)
        {
            if (batch.Length(i) > maxPacket)
            {
                // Larger than the interface MTU allows by more than WireGuard's overhead: the TUN
                // misbehaved or its MTU was raised under us. A drop, as for any unroutable packet.
                Interlocked.Increment(ref _tunOversized);
                destinations[i] = null;
                continue;
            }
            SendResult r = _device.Encapsulate(batch.Slot(i), batch.Length(i), now, out int length, out SocketAddress? to, out Peer? peer);
            if (r == SendResult.Send)
            {
                batch.SetPacket(i, -MessageLayout.TransportHeaderSize, length);
                destinations[i] = to;
                vias[i] = peer?.Via;
            }
            else
            {
                destinations[i] = null;
            }
        }
        SendRuns(batch, destinations, vias, n);
    }

    /// <summary>
    /// After a batch threw: counts it (<see cref="LoopFaults"/>) and pauses; false when the loop cannot
    /// continue (the process exit has been requested), so the routine returns.
    /// </summary>
    /// <summary>A device or socket closed: expected during <see cref="Stop"/>, fatal otherwise (the data path is gone).</summary>
    private void EndedUnexpectedly(PacketLoop loop, string what)
    {
        if (!_stop.IsCancellationRequested)
        {
            _faults.Fatal(loop, null, what);
        }
    }

    private bool Survive(PacketLoop loop, Exception fault, ref int consecutive)
    {
        TimeSpan? pause = _faults.Record(loop, fault, ++consecutive, _device.NowNs());
        if (pause is null)
        {
            return false;
        }
        _stop.Token.WaitHandle.WaitOne(pause.Value);
        return true;
    }


    /// <summary>Sends consecutive datagrams with the same destination as one batch, through the peer's path socket if it has one.</summary>
    private void SendRuns(PacketBatch batch, SocketAddress?[] destinations, IDatagramSender?[] vias, int count)
    {
        int start = 0;
        while (start < count)
        {
            SocketAddress? to = destinations[start];
            int end = start + 1;
            while (end < count && ReferenceEquals(destinations[end], to))
            {
                end++;
            }
            if (to is not null)
            {
                IDatagramTransport socket = vias[start] is PathSocket path ? path.Transport : _udp;
                socket.SendSegments(batch, start, end - start, to);
            }
            start = end;
        }
    }

    /// <summary>
    /// Peers -> TUN. One ReceiveBatch is one recvmmsg; with UDP GRO a message holds several datagrams
    /// of one size back to back. Each datagram is opened in place; inner packets are gathered into a
    /// batch that WriteBatch coalesces (TCP GRO) into few TUN writes. Handshake messages go to the
    /// bounded handshake queue.
    /// </summary>
    private void RoutineReceiveIncoming(ReceiveLane lane)
    {
        IDatagramTransport socket = lane.Socket;
        int slotCapacity = socket.GroEnabled ? IDatagramTransport.GroSlotCapacity : 2048;
        var rx = new PacketBatch(slots: socket.GroEnabled ? 16 : 64, slotCapacity, headroom: 0);
        var sources = new SocketAddress[rx.Slots];
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = socket.CreateAddressBuffer();
        }
        int[] segmentSizes = new int[rx.Slots];
        // Only a lane whose writer cannot queue packets one at a time gathers them in a batch first.
        var toTun = new PacketBatch(slots: lane.Queue is null ? 128 : 1, slotCapacity: _device.Mtu + 64, headroom: 0);
        var probe = new AllocationProbe(WarmupPackets);
        int consecutive = 0;
        if (_paths is null || lane.Index > 0)
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    int m = socket.ReceiveBatch(rx, sources, segmentSizes);
                    if (m < 0)
                    {
                        EndedUnexpectedly(PacketLoop.UdpReceive, "the UDP socket closed");
                        break;
                    }
                    ProcessReceived(lane, rx, m, sources, segmentSizes, toTun, null, ref probe);
                }
                catch (Exception ex) when (!_stop.IsCancellationRequested)
                {
                    if (!Survive(PacketLoop.UdpReceive, ex, ref consecutive))
                    {
                        return;
                    }
                    continue;
                }
                consecutive = 0;
            }
            return;
        }
        // A client with path sockets: one thread polls them all, so the replay windows keep a single writer.
        // The primary socket and up to 15 path sockets: the wait's limit (the candidate cap is 8).
        var sockets = new IDatagramTransport[IDatagramTransport.MaxWaitSet];
        var owners = new PathSocket?[IDatagramTransport.MaxWaitSet];
        var readable = new bool[IDatagramTransport.MaxWaitSet];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (!ReceiveFromPaths(lane, sockets, owners, readable, rx, sources, segmentSizes, toTun, ref probe))
                {
                    EndedUnexpectedly(PacketLoop.UdpReceive, "the UDP socket closed");
                    return;
                }
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                if (!Survive(PacketLoop.UdpReceive, ex, ref consecutive))
                {
                    return;
                }
                continue;
            }
            consecutive = 0;
        }
    }

    /// <summary>One poll of the primary and path sockets and what they had; false when the primary socket closed.</summary>
    private bool ReceiveFromPaths(ReceiveLane lane, IDatagramTransport[] sockets, PathSocket?[] owners, bool[] readable, PacketBatch rx,
        SocketAddress[] sources, int[] segmentSizes, PacketBatch toTun, ref AllocationProbe probe)
    {
        PathSocket[] paths = _paths!.Snapshot;
        int count = 1;
        sockets[0] = _udp;
        owners[0] = null;
        for (int i = 0; i < paths.Length && count < sockets.Length; i++)
        {
            sockets[count] = paths[i].Transport;
            owners[count++] = paths[i];
        }
        // A bounded wait, so a path added meanwhile is polled within 50 ms and Stop is noticed.
        if (_udp.WaitReadable(sockets.AsSpan(0, count), readable, 50) == 0)
        {
            return true;
        }
        for (int k = 0; k < count; k++)
        {
            if (!readable[k])
            {
                continue;
            }
            int m = sockets[k].ReceiveBatch(rx, sources, segmentSizes);
            if (m < 0)
            {
                if (k == 0)
                {
                    return false;
                }
                continue; // a path socket closed under us (interface gone)
            }
            ProcessReceived(lane, rx, m, sources, segmentSizes, toTun, owners[k], ref probe);
        }
        return true;
    }

    /// <summary>
    /// Opens each datagram of one receive batch in place and hands it on: data to the TUN batch,
    /// handshakes to the handshake queue, control frames to the session layer (with the path they came on).
    /// </summary>
    private void ProcessReceived(ReceiveLane lane, PacketBatch rx, int m, SocketAddress[] sources, int[] segmentSizes, PacketBatch toTun, PathSocket? path, ref AllocationProbe probe)
    {
        int pending = 0;
        int datagrams = 0;
        bool authenticated = false;
        long now = _device.NowNs(); // once per batch (docs/performance.md "Packet-thread profile")
        for (int i = 0; i < m; i++)
        {
            Span<byte> message = rx.Packet(i);
            int segment = segmentSizes[i] > 0 ? segmentSizes[i] : message.Length;
            for (int offset = 0; offset < message.Length; offset += segment)
            {
                Span<byte> datagram = message.Slice(offset, Math.Min(segment, message.Length - offset));
                datagrams++;
                switch (_device.Decapsulate(datagram, sources[i], now, out int off, out int len, out Peer? peer))
                {
                    case ReceiveResult.Deliver when lane.Queue is not null:
                        authenticated = true;
                        lane.Queue.Queue(datagram.Slice(off, len)); // copied into the coalescer; written at the flush
                        break;
                    case ReceiveResult.Deliver when len <= toTun.SlotCapacity:
                        authenticated = true;
                        datagram.Slice(off, len).CopyTo(toTun.Data(pending));
                        toTun.SetPacket(pending, 0, len);
                        if (++pending == toTun.Slots)
                        {
                            FlushToTun(lane, toTun, ref pending);
                        }
                        break;
                    case ReceiveResult.Deliver:
                        authenticated = true;
                        FlushToTun(lane, toTun, ref pending); // keep order, then the oversized one alone
                        lane.Tun.Write(datagram.Slice(off, len));
                        break;
                    case ReceiveResult.Handshake:
                        AdmitHandshake(lane, datagram, sources[i]);
                        break;
                    case ReceiveResult.Keepalive:
                        authenticated = true;
                        break;
                    case ReceiveResult.Control:
                        authenticated = true;
                        path?.MarkAuthenticatedRx(now);
                        _device.Observer?.OnControlFrame(peer!, datagram.Slice(off, len), sources[i], path);
                        break;
                    default:
                        break;
                }
            }
            if (message.IsEmpty)
            {
                _device.Decapsulate(message, sources[i], out _, out _, out _); // counted as malformed
            }
        }
        FlushToTun(lane, toTun, ref pending);
        if (authenticated && path is not null)
        {
            path.MarkAuthenticatedRx(_device.NowNs());
        }
        probe.Count(datagrams);
        lane.Publish(probe);
    }

    /// <summary>
    /// In front of the handshake queue: an initiation or response without a valid mac1 is counted and
    /// dropped before it touches any shared budget; a message its source or the interface has no tokens
    /// for is dropped after one table lookup, before it costs a copy, a lock or any DH.
    /// </summary>
    /// <remarks>With several receive threads the mac1 check runs on each lane's own verifier, and only the
    /// bucket stage (one table lookup) is serialised: the buckets are one budget for the whole interface.</remarks>
    private void AdmitHandshake(ReceiveLane lane, ReadOnlySpan<byte> message, SocketAddress from)
    {
        if (!_admission.PassesMac1(message, lane.Mac1(_device.Identity)))
        {
            return;
        }
        Span<byte> source = stackalloc byte[18];
        int n = EndpointCodec.WriteAddressBytes(from, source, includePort: false);
        AdmissionVerdict verdict;
        if (_lanes.Length == 1)
        {
            verdict = _admission.AdmitBuckets(message, source[..n], NowTicks());
        }
        else
        {
            lock (_admissionLock)
            {
                verdict = _admission.AdmitBuckets(message, source[..n], NowTicks());
            }
        }
        if (verdict == AdmissionVerdict.Admitted)
        {
            _handshakes.TryEnqueue(message, from);
        }
    }

    /// <summary>The device's monotonic clock in the rate limiters' unit (TimeSpan ticks).</summary>
    private long NowTicks() => _device.NowNs() / 100;

    private static void FlushToTun(ReceiveLane lane, PacketBatch toTun, ref int pending)
    {
        lane.Queue?.Flush();
        if (pending == 0)
        {
            return;
        }
        toTun.Count = pending;
        lane.Tun.WriteBatch(toTun);
        pending = 0;
    }

    private void RoutineHandshake()
    {
        byte[] message = new byte[MessageLayout.InitiationSize];
        var from = new SocketAddress(System.Net.Sockets.AddressFamily.InterNetworkV6);
        int consecutive = 0;
        while (_handshakes.TryTake(message, from, out int length, _stop.Token))
        {
            try
            {
                long now = NowTicks();
                // Under load (cookies required) when the queue backs up, or when the demand for DH work (messages
                // with a valid mac1) went over budget.
                _device.UnderLoad = _handshakes.UnderLoad || _work.UnderLoad(now);
                // The per-source limiter is charged inside, only for proven (mac2-valid) messages under load.
                if (_device.ProcessHandshakeMessage(message.AsSpan(0, length), from, _rateLimiter))
                {
                    _work.Charge(now);
                }
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                if (!Survive(PacketLoop.Handshake, ex, ref consecutive))
                {
                    return;
                }
                continue;
            }
            consecutive = 0;
        }
    }

    private void RoutineTimers()
    {
        int consecutive = 0;
        while (!_stop.Token.WaitHandle.WaitOne(_device.TickPeriodMs))
        {
            try
            {
                _device.Tick();
            }
            catch (Exception ex) when (!_stop.IsCancellationRequested)
            {
                if (!Survive(PacketLoop.Timers, ex, ref consecutive))
                {
                    return;
                }
                continue;
            }
            consecutive = 0;
        }
    }

    /// <summary>Stops the threads: closing the TUN and socket unblocks the packet loops.</summary>
    public void Stop()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        _stop.Cancel();
        _tun.Close();
        foreach (ReceiveLane lane in _lanes)
        {
            lane.Socket.Close(); // lane 0's is the primary socket
        }
        foreach (Thread t in _threads)
        {
            if (t == Thread.CurrentThread)
            {
                continue; // a loop's fatal exit runs the process's shutdown on that loop's own thread
            }
            if (!t.Join(TimeSpan.FromSeconds(3)))
            {
                _logger.LogWarning("{Thread} did not stop within 3 s", t.Name);
            }
        }
    }

    public void Dispose()
    {
        Stop();
        _handshakes.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Lane 0's writer: the device's own single-writer <see cref="ITunDevice.WriteBatch"/>.</summary>
internal sealed class DirectTunWriter(ITunDevice tun) : ITunWriter
{
    public bool WriteBatch(PacketBatch input) => tun.WriteBatch(input);

    public bool Write(ReadOnlySpan<byte> packet) => tun.Write(packet);
}
