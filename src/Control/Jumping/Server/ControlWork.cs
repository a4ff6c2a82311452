using System.Net;
using System.Net.Sockets;
using JumpingVpn.Control.Frames;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Jumping.Server;

/// <summary>What a control worker runs (docs/threads.md "Control workers"): the server role's handling of one item.</summary>
internal interface IControlHandler
{
    /// <summary>A control frame copied off the receive thread, handled as the receive thread would have.</summary>
    void Handle(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from);

    /// <summary>The store-touching half of the sweep for one session whose timers or liveness are due.</summary>
    void SweepDue(ServerSession session);
}

/// <summary>
/// One reusable slot of a control queue: the frame bytes and source address are copied into buffers the
/// slot keeps, so a frame in steady state allocates nothing on the receive thread (docs/threads.md).
/// </summary>
internal sealed class ControlWork
{
    /// <summary>Large enough for every control request (docs/protocol.md); a larger one grows the slot once.</summary>
    private const int InitialFrameBytes = 512;

    private byte[] _frame = [];

    public Peer? Peer { get; private set; }

    public ControlFrameType Type { get; private set; }

    public int Length { get; private set; }

    private SocketAddress? _from4;
    private SocketAddress? _from6;

    /// <summary>
    /// The source address: an exact copy (same family and size, so it compares equal to the original), kept per
    /// family so a slot reuses its address object from frame to frame.
    /// </summary>
    public SocketAddress From { get; private set; } = new(AddressFamily.InterNetwork);

    /// <summary>A sweep item instead of a frame: the session whose due work runs here.</summary>
    public ServerSession? Session { get; private set; }

    /// <summary>Stopwatch ticks when the item was queued (the wait-time metric).</summary>
    public long QueuedTicks { get; private set; }

    public ReadOnlySpan<byte> Frame => _frame.AsSpan(0, Length);

    public void SetFrame(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from, long ticks)
    {
        if (_frame.Length < frame.Length)
        {
            _frame = new byte[Math.Max(InitialFrameBytes, frame.Length)];
        }
        frame.CopyTo(_frame);
        Length = frame.Length;
        ref SocketAddress? cached = ref from.Family == AddressFamily.InterNetwork ? ref _from4 : ref _from6;
        if (cached is null || cached.Family != from.Family || cached.Size != from.Size)
        {
            cached = new SocketAddress(from.Family, from.Size);
        }
        from.Buffer.Span[..from.Size].CopyTo(cached.Buffer.Span);
        From = cached;
        Peer = peer;
        Type = type;
        Session = null;
        QueuedTicks = ticks;
    }

    public void SetSweep(ServerSession session, long ticks)
    {
        Peer = session.Peer;
        Session = session;
        Length = 0;
        QueuedTicks = ticks;
    }

    /// <summary>Drops the references once handled, so a slot does not keep a removed peer or session alive.</summary>
    public void Clear()
    {
        Peer = null;
        Session = null;
        Length = 0;
    }
}
