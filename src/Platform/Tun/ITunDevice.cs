using JumpingVpn.Platform.Buffers;

namespace JumpingVpn.Platform.Tun;

/// <summary>
/// A layer-3 tunnel device carrying raw IPv4/IPv6 packets (no link header, no packet-info prefix).
/// Contract (as wireguard-go's tun.Device documents its own): <see cref="Read"/> blocks until one packet
/// is available and returns its length, or returns 0 once <see cref="Close"/> was called from any
/// thread; <see cref="Write"/> writes one packet and returns false on a transient failure (the packet
/// is dropped, nothing is thrown). Neither allocates.
/// The batched pair (<see cref="ReadBatch"/>, <see cref="WriteBatch"/>) is the fast path; devices
/// without offloads get the one-packet-at-a-time defaults below.
/// </summary>
public interface ITunDevice : IDisposable
{
    string Name { get; }

    int Read(Span<byte> buffer);

    bool Write(ReadOnlySpan<byte> packet);

    void Close();

    /// <summary>Blocks like <see cref="Read"/>, then fills <paramref name="output"/> from slot 0 (each
    /// packet at data offset 0) and sets its Count; returns the count, or 0 once closed.</summary>
    int ReadBatch(PacketBatch output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int n = Read(output.Data(0));
        output.SetPacket(0, 0, n);
        output.Count = n > 0 ? 1 : 0;
        return output.Count;
    }

    /// <summary>
    /// A writer of this device for one more thread (a server's extra receive threads, docs/threads.md
    /// "Receive threads"): its own coalescing scratch over the same device, so several threads write
    /// without sharing a lock. Null when the device has a single writer only (then <see cref="WriteBatch"/>
    /// must not run on two threads at once).
    /// </summary>
    ITunWriter? CreateWriter() => null;

    /// <summary>Writes input.Packet(0..Count-1); false if any was dropped.</summary>
    bool WriteBatch(PacketBatch input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool ok = true;
        for (int i = 0; i < input.Count; i++)
        {
            ok &= Write(input.Packet(i));
        }
        return ok;
    }
}

/// <summary>The write half of an <see cref="ITunDevice"/> for one thread (<see cref="ITunDevice.CreateWriter"/>).</summary>
public interface ITunWriter
{
    /// <summary>Writes input.Packet(0..Count-1) as <see cref="ITunDevice.WriteBatch"/> does; false if any was dropped.</summary>
    bool WriteBatch(PacketBatch input);

    /// <summary>Writes one packet as <see cref="ITunDevice.Write"/> does.</summary>
    bool Write(ReadOnlySpan<byte> packet);
}

/// <summary>
/// A TUN writer that also takes packets one at a time, straight from where they were decrypted
/// (docs/performance.md "Packet-thread profile"): <see cref="Queue"/> copies one packet into the writer's
/// coalescing queue, writing what is queued first when it is full; <see cref="Flush"/> writes everything
/// queued. A receive thread then needs no intermediate batch, and each payload byte one copy less.
/// </summary>
public interface ITunPacketQueue : ITunWriter
{
    /// <summary>Queues a copy of <paramref name="packet"/>; false if a packet was dropped on the way.</summary>
    bool Queue(ReadOnlySpan<byte> packet);

    /// <summary>Writes every queued packet (coalesced); false if any was dropped.</summary>
    bool Flush();
}
