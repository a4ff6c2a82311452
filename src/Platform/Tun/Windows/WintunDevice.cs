using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Tun.Windows;

/// <summary>
/// A Wintun adapter as an <see cref="ITunDevice"/>. Wintun hands over raw IP packets through two shared-memory
/// rings (docs/platform.md §1.1, README "Using Wintun"): Read drains WintunReceivePacket until
/// ERROR_NO_MORE_ITEMS and then blocks on the read-wait event together with a quit event that
/// <see cref="Close"/> sets (the wireguard-go tun_windows.go loop, without its throughput spin-wait);
/// Write allocates a send slot, copies, and sends, dropping the packet when the ring is full
/// (ERROR_BUFFER_OVERFLOW) as the Wintun README says to.
/// </summary>
public sealed unsafe class WintunDevice : ITunDevice
{
    /// <summary>8 MiB, the ring capacity wireguard-go uses (0x800000).</summary>
    public const uint DefaultRingCapacity = 0x800000;

    /// <summary>The tunnel type shown as "jvpn Tunnel" in the device description.</summary>
    public const string TunnelType = "jvpn";

    private readonly IWintunApi _api;
    private readonly ulong _luid;
    private int _closed;
    private int _disposed;

    internal WintunDevice(string name, ulong luid, IWintunApi api)
    {
        Name = name;
        _luid = luid;
        _api = api;
    }

    public string Name { get; }

    /// <summary>The adapter's NET_LUID, the key for the IP Helper calls.</summary>
    public ulong Luid => _luid;

    /// <summary>
    /// Opens the adapter called <paramref name="name"/> or creates it, then starts a session with an
    /// 8 MiB ring. <paramref name="requestedGuid"/> keeps the adapter GUID (and so the Windows network
    /// profile) stable across runs (docs/platform.md §1.3); Guid.Empty lets Wintun pick one.
    /// </summary>
    [SupportedOSPlatform("windows")]
    public static WintunDevice Create(string name, Guid requestedGuid = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > WintunConstants.MaxAdapterNameLength)
        {
            throw new ArgumentException($"Adapter names are at most {WintunConstants.MaxAdapterNameLength} characters.", nameof(name));
        }
        WintunSessionApi api = WintunSessionApi.OpenOrCreate(name, TunnelType, requestedGuid, DefaultRingCapacity, out ulong luid);
        return new WintunDevice(name, luid, api);
    }

    public int Read(Span<byte> buffer)
    {
        while (Volatile.Read(ref _closed) == 0)
        {
            byte* packet = _api.ReceivePacket(out uint size, out int error);
            if (packet != null)
            {
                // A packet larger than the caller's buffer cannot be delivered whole; drop it like a
                // truncated datagram rather than ending the read loop (Wintun packets are ≤ 0xFFFF).
                bool fits = size <= (uint)buffer.Length;
                if (fits)
                {
                    new ReadOnlySpan<byte>(packet, (int)size).CopyTo(buffer);
                }
                _api.ReleaseReceivePacket(packet);
                if (fits)
                {
                    return (int)size;
                }
                continue;
            }
            switch (error)
            {
                case WintunConstants.ErrorNoMoreItems:
                    if (!_api.WaitForPackets())
                    {
                        return 0;
                    }
                    break;
                case WintunConstants.ErrorHandleEof:
                    // The adapter is going away: same as closed.
                    return 0;
                case WintunConstants.ErrorInvalidData:
                    throw new PlatformException($"The Wintun receive ring of {Name} is corrupt (ERROR_INVALID_DATA); restart the tunnel.", error);
                default:
                    throw new PlatformException($"Reading from Wintun adapter {Name} failed with Win32 error {error}.", error);
            }
        }
        return 0;
    }

    /// <summary>
    /// Zero-copy receive: the packet stays in the ring (writable, e.g. for in-place encryption) until
    /// <see cref="Release"/>. Releases may come in any order, but ring space is reclaimed only up to the
    /// oldest unreleased packet, so holding one stalls the ring. Non-blocking: false when the ring is empty
    /// or the device is closing.
    /// </summary>
    internal bool TryReceive(out WintunPacket packet)
    {
        while (Volatile.Read(ref _closed) == 0)
        {
            byte* p = _api.ReceivePacket(out uint size, out int error);
            if (p != null)
            {
                packet = new WintunPacket(p, (int)size);
                return true;
            }
            if (error is WintunConstants.ErrorNoMoreItems or WintunConstants.ErrorHandleEof)
            {
                break;
            }
            throw new PlatformException($"Reading from Wintun adapter {Name} failed with Win32 error {error}.", error);
        }
        packet = default;
        return false;
    }

    internal void Release(WintunPacket packet) => _api.ReleaseReceivePacket(packet.Pointer);

    public bool Write(ReadOnlySpan<byte> packet)
    {
        if (packet.IsEmpty || packet.Length > WintunConstants.MaxIpPacketSize || Volatile.Read(ref _closed) != 0)
        {
            return false;
        }
        byte* slot = _api.AllocateSendPacket((uint)packet.Length, out int error);
        if (slot == null)
        {
            // ERROR_BUFFER_OVERFLOW: ring full, drop (README). ERROR_HANDLE_EOF: adapter going away.
            // Either way a transient drop for the caller, per the ITunDevice contract.
            return false;
        }
        packet.CopyTo(new Span<byte>(slot, packet.Length));
        _api.SendPacket(slot);
        return true;
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _api.SignalQuit();
        }
    }

    /// <summary>Closes, then ends the session and the adapter. Call only after readers returned
    /// (docs/platform.md §1.5: never end a session while a thread is inside ReceivePacket).</summary>
    public void Dispose()
    {
        Close();
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _api.Dispose();
        }
    }
}

/// <summary>A received packet still owned by the Wintun ring.</summary>
internal readonly unsafe struct WintunPacket
{
    internal WintunPacket(byte* pointer, int length)
    {
        Pointer = pointer;
        Length = length;
    }

    internal byte* Pointer { get; }

    internal int Length { get; }

    internal Span<byte> Span => new(Pointer, Length);
}
