using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Windows;
using JumpingVpn.Platform.Tun.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>
/// An in-memory model of one Wintun session (api/session.c semantics from docs/platform.md §1.1): each packet
/// takes 4 bytes of size header plus its data rounded up to 4; released receive space is reclaimed only
/// contiguously from the oldest packet; send slots are delivered in allocation order once sent.
/// Packet memory is native so the device sees real pointers, as with the DLL.
/// </summary>
internal sealed unsafe class FakeWintunApi : IWintunApi
{
    private sealed class Slot
    {
        public byte* Pointer;
        public int Size;
        public bool Done; // released (receive ring) or sent (send ring)
        public bool Handed; // receive ring: returned by ReceivePacket
    }

    private readonly Lock _lock = new();
    private readonly List<Slot> _receiveRing = []; // oldest first
    private readonly List<Slot> _sendRing = [];
    private readonly AutoResetEvent _readWait = new(false);
    private readonly ManualResetEvent _quit = new(false);
    private readonly int _receiveCapacity;
    private readonly int _sendCapacity;
    private int _receiveUsed;
    private int _sendUsed;

    public FakeWintunApi(int receiveCapacity = 1 << 17, int sendCapacity = 1 << 17)
    {
        _receiveCapacity = receiveCapacity;
        _sendCapacity = sendCapacity;
    }

    public List<byte[]> Sent { get; } = [];

    public bool EndOfFile { get; set; }

    public bool Corrupt { get; set; }

    public bool Disposed { get; private set; }

    public int Waits { get; private set; }

    /// <summary>Packets handed out but not yet released.</summary>
    public int Outstanding
    {
        get
        {
            lock (_lock)
            {
                int n = 0;
                foreach (Slot s in _receiveRing)
                {
                    n += s.Handed && !s.Done ? 1 : 0;
                }
                return n;
            }
        }
    }

    public int ReceiveUsed
    {
        get
        {
            lock (_lock)
            {
                return _receiveUsed;
            }
        }
    }

    private static int Cost(int size) => 4 + ((size + 3) & ~3);

    /// <summary>The "kernel" side writes a packet into the receive ring; false when the ring is full.</summary>
    public bool Offer(ReadOnlySpan<byte> packet)
    {
        lock (_lock)
        {
            if (_receiveUsed + Cost(packet.Length) > _receiveCapacity)
            {
                return false;
            }
            var slot = new Slot { Pointer = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, packet.Length)), Size = packet.Length };
            packet.CopyTo(new Span<byte>(slot.Pointer, packet.Length));
            _receiveRing.Add(slot);
            _receiveUsed += Cost(packet.Length);
        }
        _readWait.Set();
        return true;
    }

    public byte* ReceivePacket(out uint size, out int error)
    {
        lock (_lock)
        {
            size = 0;
            if (Corrupt)
            {
                error = WintunConstants.ErrorInvalidData;
                return null;
            }
            if (EndOfFile)
            {
                error = WintunConstants.ErrorHandleEof;
                return null;
            }
            foreach (Slot s in _receiveRing)
            {
                if (!s.Handed)
                {
                    s.Handed = true;
                    size = (uint)s.Size;
                    error = 0;
                    return s.Pointer;
                }
            }
            error = WintunConstants.ErrorNoMoreItems;
            return null;
        }
    }

    public void ReleaseReceivePacket(byte* packet)
    {
        lock (_lock)
        {
            Slot slot = _receiveRing.Find(s => s.Pointer == packet) ?? throw new InvalidOperationException("release of a packet the ring does not own");
            if (!slot.Handed || slot.Done)
            {
                throw new InvalidOperationException("double release");
            }
            slot.Done = true;
            // Only the contiguous released prefix is reclaimed (TUN_PACKET_RELEASE bit walk in session.c).
            while (_receiveRing.Count > 0 && _receiveRing[0].Done)
            {
                _receiveUsed -= Cost(_receiveRing[0].Size);
                NativeMemory.Free(_receiveRing[0].Pointer);
                _receiveRing.RemoveAt(0);
            }
        }
    }

    public byte* AllocateSendPacket(uint size, out int error)
    {
        lock (_lock)
        {
            if (EndOfFile)
            {
                error = WintunConstants.ErrorHandleEof;
                return null;
            }
            if (_sendUsed + Cost((int)size) > _sendCapacity)
            {
                error = WintunConstants.ErrorBufferOverflow;
                return null;
            }
            var slot = new Slot { Pointer = (byte*)NativeMemory.Alloc(Math.Max(1u, size)), Size = (int)size };
            _sendRing.Add(slot);
            _sendUsed += Cost((int)size);
            error = 0;
            return slot.Pointer;
        }
    }

    public void SendPacket(byte* packet)
    {
        lock (_lock)
        {
            Slot slot = _sendRing.Find(s => s.Pointer == packet) ?? throw new InvalidOperationException("send of a slot that was not allocated");
            slot.Done = true;
            while (_sendRing.Count > 0 && _sendRing[0].Done)
            {
                Slot s = _sendRing[0];
                Sent.Add(new ReadOnlySpan<byte>(s.Pointer, s.Size).ToArray());
                NativeMemory.Free(s.Pointer);
                _sendRing.RemoveAt(0);
            }
        }
    }

    /// <summary>The "kernel" consumed everything sent so far: frees the send ring.</summary>
    public void DrainSendRing()
    {
        lock (_lock)
        {
            _sendUsed = 0;
            foreach (Slot s in _sendRing)
            {
                _sendUsed += Cost(s.Size);
            }
        }
    }

    public bool WaitForPackets()
    {
        lock (_lock)
        {
            Waits++;
        }
        return WaitHandle.WaitAny([_readWait, _quit]) == 0;
    }

    public void SignalQuit() => _quit.Set();

    public void Dispose()
    {
        Disposed = true;
        lock (_lock)
        {
            foreach (Slot s in _receiveRing)
            {
                NativeMemory.Free(s.Pointer);
            }
            foreach (Slot s in _sendRing)
            {
                NativeMemory.Free(s.Pointer);
            }
            _receiveRing.Clear();
            _sendRing.Clear();
        }
        _readWait.Dispose();
        _quit.Dispose();
    }
}
