namespace JumpingVpn.Platform.Tun.Windows;

/// <summary>
/// One Wintun session's ring protocol, as <see cref="WintunDevice"/> uses it. The real implementation
/// (<see cref="WintunSessionApi"/>) forwards to wintun.dll; tests plug in a fake ring so the device logic
/// runs on Linux. Error values are the Win32 codes in <see cref="Interop.Windows.WintunConstants"/> (returned, not
/// thrown: an empty or full ring is the expected case on the hot path).
/// </summary>
internal unsafe interface IWintunApi : IDisposable
{
    /// <summary>WintunReceivePacket: a packet (writable, valid until released) or null with
    /// <paramref name="error"/> = ERROR_NO_MORE_ITEMS / ERROR_HANDLE_EOF / ERROR_INVALID_DATA.</summary>
    byte* ReceivePacket(out uint size, out int error);

    /// <summary>WintunReleaseReceivePacket; any order is allowed.</summary>
    void ReleaseReceivePacket(byte* packet);

    /// <summary>WintunAllocateSendPacket: a slot or null with <paramref name="error"/> =
    /// ERROR_BUFFER_OVERFLOW (ring full) / ERROR_HANDLE_EOF.</summary>
    byte* AllocateSendPacket(uint size, out int error);

    /// <summary>WintunSendPacket for a slot from <see cref="AllocateSendPacket"/>.</summary>
    void SendPacket(byte* packet);

    /// <summary>Blocks on {read-wait event, quit event}: true when packets may be readable, false once
    /// <see cref="SignalQuit"/> was called.</summary>
    bool WaitForPackets();

    /// <summary>Sets the quit event (sticky: every later wait returns false at once).</summary>
    void SignalQuit();
}
