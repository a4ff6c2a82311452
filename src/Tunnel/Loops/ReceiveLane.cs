using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Udp;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tunnel.Loops;

/// <summary>
/// What one receive thread owns (docs/threads.md "Receive threads"): its socket (lane 0: the interface's
/// primary socket and a client's path sockets; the others: one SO_REUSEPORT socket each), its TUN writer
/// (its own coalescing scratch), its mac1 verifier and its packet and allocation counts. Nothing here is
/// shared with another receive thread, so the lanes run side by side without a lock between them.
/// </summary>
internal sealed class ReceiveLane
{
    private StaticIdentity? _mac1Identity;
    private Mac1Verifier? _mac1;
    private long _packets;
    private long _allocated;

    /// <summary>JVPN_DISABLE_TUN_QUEUE=1: inner packets are gathered into a batch and written with WriteBatch even
    /// where the writer could queue them directly (A/B runs, tests).</summary>
    private static readonly bool s_queueDisabled = Environment.GetEnvironmentVariable("JVPN_DISABLE_TUN_QUEUE") == "1";

    public ReceiveLane(int index, IDatagramTransport socket, ITunWriter tun)
    {
        Index = index;
        Socket = socket;
        Tun = tun;
        Queue = s_queueDisabled ? null : tun as ITunPacketQueue;
    }

    public int Index { get; }

    public IDatagramTransport Socket { get; }

    public ITunWriter Tun { get; }

    /// <summary><see cref="Tun"/> when it takes decrypted packets one at a time (no intermediate batch), else null.</summary>
    public ITunPacketQueue? Queue { get; }

    /// <summary>Datagrams this lane received (read by other threads).</summary>
    public long Packets => Interlocked.Read(ref _packets);

    /// <summary>Bytes this lane's thread allocated after its warm-up (should stay 0).</summary>
    public long Allocated => Interlocked.Read(ref _allocated);

    /// <summary>The thread's name: lane 0 keeps wireguard-go's routine name alone.</summary>
    public string ThreadName => Index == 0 ? "jvpn-udp-recv" : $"jvpn-udp-recv-{Index}";

    public void Publish(in AllocationProbe probe)
    {
        Interlocked.Exchange(ref _packets, probe.Packets);
        Interlocked.Exchange(ref _allocated, probe.Allocated);
    }

    /// <summary>The mac1 verifier for the interface's current key (rebuilt only when the key changes).</summary>
    public Mac1Verifier? Mac1(StaticIdentity? identity)
    {
        if (!ReferenceEquals(identity, _mac1Identity))
        {
            _mac1 = identity is null ? null : new Mac1Verifier(identity.PublicKey);
            _mac1Identity = identity;
        }
        return _mac1;
    }
}

/// <summary>
/// A TUN writer for a device that offers only one (<see cref="ITunDevice.CreateWriter"/> returned null:
/// test devices, Wintun): the lanes take turns under one lock. Linux devices give each lane its own writer,
/// so the data path never gets here there.
/// </summary>
internal sealed class SerializedTunWriter(ITunDevice tun) : ITunWriter
{
    private readonly Lock _lock = new();

    public bool WriteBatch(Platform.Buffers.PacketBatch input)
    {
        lock (_lock)
        {
            return tun.WriteBatch(input);
        }
    }

    public bool Write(ReadOnlySpan<byte> packet)
    {
        lock (_lock)
        {
            return tun.Write(packet);
        }
    }
}
