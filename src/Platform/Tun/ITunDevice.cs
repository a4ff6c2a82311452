namespace JumpingVpn.Platform.Tun;

/// <summary>
/// A layer-3 tunnel device carrying raw IPv4/IPv6 packets (no link header, no packet-info prefix).
/// Contract (as wireguard-go's tun.Device documents its own): <see cref="Read"/> blocks until one packet
/// is available and returns its length, or returns 0 once <see cref="Close"/> was called from any
/// thread; <see cref="Write"/> writes one packet and returns false on a transient failure (the packet
/// is dropped, nothing is thrown). Neither allocates.
/// </summary>
public interface ITunDevice : IDisposable
{
    string Name { get; }

    int Read(Span<byte> buffer);

    bool Write(ReadOnlySpan<byte> packet);

    void Close();
}
