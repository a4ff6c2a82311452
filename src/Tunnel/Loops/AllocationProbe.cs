namespace JumpingVpn.Tunnel.Loops;

/// <summary>
/// Measures what a packet thread allocates after its warm-up, so the 0 B/packet claim is checked on
/// the live loop (GC.GetAllocatedBytesForCurrentThread is a cheap thread-local read). One per thread.
/// </summary>
internal struct AllocationProbe(long warmupPackets)
{
    private long _packets;
    private long _baseline;
    private bool _armed;

    /// <summary>Bytes this thread allocated since the warm-up ended (0 before it ends).</summary>
    public long Allocated { get; private set; }

    public long Packets => _packets;

    /// <summary>Counts <paramref name="packets"/> more packets; call from the owning thread only.</summary>
    public void Count(int packets)
    {
        _packets += packets;
        if (!_armed)
        {
            if (_packets >= warmupPackets)
            {
                _armed = true;
                _baseline = GC.GetAllocatedBytesForCurrentThread();
            }
            return;
        }
        Allocated = GC.GetAllocatedBytesForCurrentThread() - _baseline;
    }
}
