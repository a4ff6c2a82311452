using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Buffers;

/// <summary>
/// A fixed set of packet slots in one pinned, preallocated arena: the unit the batched I/O paths
/// (recvmmsg/sendmmsg, UDP GSO/GRO, TUN TSO/GRO) hand to each other, so the steady state allocates
/// nothing and native calls can point iovecs at the slots directly (pinned: addresses never move).
/// Each slot has <see cref="Headroom"/> spare bytes before its data (room for the 16-byte WireGuard
/// transport header or a virtio-net header) and <see cref="SlotCapacity"/> bytes of data capacity.
/// Ownership: one thread at a time; not thread-safe.
/// </summary>
public sealed unsafe class PacketBatch
{
    private readonly byte[] _arena;
    private readonly int[] _lengths;
    private readonly int[] _offsets;
    private readonly byte* _base;

    public PacketBatch(int slots, int slotCapacity, int headroom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        Slots = slots;
        SlotCapacity = slotCapacity;
        Headroom = headroom;
        // Stride rounded to 64 bytes so every slot starts on a cache line.
        Stride = (headroom + slotCapacity + 63) & ~63;
        _arena = GC.AllocateArray<byte>(Stride * slots, pinned: true);
        _base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_arena, 0);
        _lengths = new int[slots];
        _offsets = new int[slots];
    }

    public int Slots { get; }
    public int SlotCapacity { get; }
    public int Headroom { get; }
    public int Stride { get; }

    /// <summary>How many slots hold data (filled by the producer, read by the consumer).</summary>
    public int Count { get; set; }

    /// <summary>The whole slot including headroom: [0, Headroom) is spare, data starts at Headroom + DataOffset(i).</summary>
    public Span<byte> Slot(int i) => _arena.AsSpan(i * Stride, Stride);

    /// <summary>The slot's data area (capacity, not length).</summary>
    public Span<byte> Data(int i) => _arena.AsSpan((i * Stride) + Headroom, SlotCapacity);

    /// <summary>The filled part of slot i: DataOffset(i) bytes into the data area, Length(i) long.</summary>
    public Span<byte> Packet(int i) => _arena.AsSpan((i * Stride) + Headroom + _offsets[i], _lengths[i]);

    public int Length(int i) => _lengths[i];

    /// <summary>
    /// Offset of the packet relative to the data area: positive when a consumer trims a prefix in place,
    /// negative (down to -Headroom) when a producer prepends a header into the headroom, as the
    /// WireGuard encapsulation does with its 16-byte transport header.
    /// </summary>
    public int DataOffset(int i) => _offsets[i];

    public void SetPacket(int i, int offset, int length)
    {
        if (offset < -Headroom || offset + length > SlotCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"packet [{offset}, {offset + length}) does not fit slot [-{Headroom}, {SlotCapacity})");
        }
        _offsets[i] = offset;
        _lengths[i] = length;
    }

    /// <summary>Native address of slot i's data area plus <paramref name="offset"/> (for iovecs).</summary>
    public byte* Address(int i, int offset = 0) => _base + (i * Stride) + Headroom + offset;

    /// <summary>Native address of the start of slot i including headroom.</summary>
    public byte* SlotAddress(int i) => _base + (i * Stride);
}
