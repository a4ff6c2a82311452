using System.Net;
using System.Net.Sockets;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tests.Tunnel.Device;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Tunnel.Loops;

/// <summary>
/// The packet threads survive a failing batch and end the process when they cannot continue. A scripted
/// TUN injects the faults; the UDP socket is a real one on loopback, and datagrams only ever go to a
/// sink socket on 127.0.0.1.
/// </summary>
public sealed class TunnelLoopsFaultTests : IDisposable
{
    private readonly TwoDevices _t = new();
    private readonly UdpTransport _udp = UdpTransport.Bind(0);
    private readonly Socket _sink = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TunnelLoopsFaultTests()
    {
        _sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _sink.ReceiveTimeout = 5000;
        // A session A -> B, and B's endpoint is the sink: what A's TUN loop seals lands there.
        _t.A.SendHandshakeInitiation(_t.PeerBOnA, isRetry: false);
        _t.Pump();
        Assert.NotNull(_t.PeerBOnA.Keypairs.Current);
        WireGuardDevice.SetEndpoint(_t.PeerBOnA, (IPEndPoint)_sink.LocalEndPoint!, _udp.DualMode);
    }

    /// <summary>A TUN that plays a script of reads (each a packet or a fault), then blocks until closed.</summary>
    private sealed class ScriptedTun(params Func<PacketBatch, int>[] script) : ITunDevice
    {
        private readonly ManualResetEventSlim _closed = new();
        private int _next;

        public string Name => "scripted";

        public int Reads => Volatile.Read(ref _next);

        public int ReadBatch(PacketBatch output)
        {
            int step = Interlocked.Increment(ref _next) - 1;
            if (step < script.Length)
            {
                return script[step](output);
            }
            _closed.Wait();
            return 0;
        }

        public int Read(Span<byte> buffer) => throw new NotSupportedException("the loops read in batches");

        public bool Write(ReadOnlySpan<byte> packet) => true;

        public void Close() => _closed.Set();

        public void Dispose() => _closed.Dispose();
    }

    private static Func<PacketBatch, int> Packet(int length, byte marker) => batch =>
    {
        byte[] p = TwoDevices.Ipv4Packet("10.0.0.1", "10.0.0.2", length - 20, marker);
        p.CopyTo(batch.Data(0));
        batch.SetPacket(0, 0, p.Length);
        batch.Count = 1;
        return 1;
    };

    private static int Fault(PacketBatch _) => throw new InvalidOperationException("injected TUN fault");

    private TunnelLoops Loops(ITunDevice tun) => new(_t.A, tun, _udp, NullLogger.Instance, exitProcess: code => _exit.TrySetResult(code));

    /// <summary>The inner packet of the next datagram at the sink: B opens it.</summary>
    private byte[] NextAtSink()
    {
        byte[] buffer = new byte[4096];
        int n = _sink.Receive(buffer);
        var delivered = new List<byte[]>();
        TwoDevices.Deliver(_t.B, buffer[..n], _t.AddrA, delivered);
        return Assert.Single(delivered);
    }

    [Fact]
    public void ATunReadThatThrowsOnceIsCountedAndTheLoopGoesOn()
    {
        var tun = new ScriptedTun(Fault, Packet(100, 0x11));
        using TunnelLoops loops = Loops(tun);
        loops.Start();
        byte[] inner = NextAtSink();
        Assert.Equal(0x11, inner[^1]);
        Assert.Equal(1, loops.Faults.Count(PacketLoop.TunRead));
        Assert.Equal(1, loops.Faults.Total);
        Assert.False(_exit.Task.IsCompleted);
    }

    [Fact]
    public async Task ATunThatAlwaysThrowsEndsTheProcessWithANonZeroCode()
    {
        var tun = new ScriptedTun(Enumerable.Repeat<Func<PacketBatch, int>>(Fault, 1000).ToArray());
        using TunnelLoops loops = Loops(tun);
        loops.Start();
        // 16 faults with pauses of 10..150 ms: about 1.4 s; generous for a loaded machine.
        int code = await _exit.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(LoopFaults.FatalExitCode, code);
        Assert.NotEqual(0, code);
        Assert.Equal(LoopFaults.MaxConsecutive, loops.Faults.Count(PacketLoop.TunRead));
        Assert.Equal(LoopFaults.MaxConsecutive, tun.Reads);
    }

    [Fact]
    public void AnOversizedTunPacketIsACountedDropNotAFault()
    {
        // The slot holds MTU + 64 bytes; a packet over MTU + 48 cannot be sealed in place.
        var tun = new ScriptedTun(Packet(_t.A.Mtu + 64, 0x22), Packet(100, 0x33));
        using TunnelLoops loops = Loops(tun);
        loops.Start();
        byte[] inner = NextAtSink();
        Assert.Equal(0x33, inner[^1]);
        Assert.Equal(1, loops.TunOversized);
        Assert.Equal(0, loops.Faults.Total);
        Assert.False(_exit.Task.IsCompleted);
    }

    [Fact]
    public async Task ATunThatClosesWhileRunningEndsTheProcess()
    {
        var tun = new ScriptedTun(_ => 0); // read() failed: the interface was deleted under us
        using TunnelLoops loops = Loops(tun);
        loops.Start();
        Assert.Equal(LoopFaults.FatalExitCode, await _exit.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
    }

    [Fact]
    public void StoppingTheLoopsIsNotAFault()
    {
        var tun = new ScriptedTun();
        TunnelLoops loops = Loops(tun);
        loops.Start();
        loops.Dispose();
        Assert.False(_exit.Task.IsCompleted);
        Assert.Equal(0, loops.Faults.Total);
    }

    public void Dispose()
    {
        _udp.Dispose();
        _sink.Dispose();
    }
}
