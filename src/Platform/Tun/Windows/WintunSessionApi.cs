using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Tun.Windows;

/// <summary>The real <see cref="IWintunApi"/>: one adapter, one session, and the quit event.</summary>
[SupportedOSPlatform("windows")]
internal sealed unsafe class WintunSessionApi : IWintunApi
{
    private readonly WintunAdapterHandle _adapter;
    private readonly WintunSessionHandle _session;
    private readonly nint _sessionHandle; // cached raw handle: no SafeHandle ref-counting per packet
    private readonly nint _readWaitEvent; // owned by the session, never CloseHandle'd
    private readonly nint _quitEvent;

    private WintunSessionApi(WintunAdapterHandle adapter, WintunSessionHandle session, nint quitEvent)
    {
        _adapter = adapter;
        _session = session;
        _sessionHandle = session.DangerousGetHandle();
        _readWaitEvent = Wintun.GetReadWaitEvent(_sessionHandle);
        _quitEvent = quitEvent;
    }

    internal static WintunSessionApi OpenOrCreate(string name, string tunnelType, Guid requestedGuid, uint capacity, out ulong luid)
    {
        if (!WintunConstants.IsValidRingCapacity(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "Wintun ring capacity must be a power of two in [0x20000, 0x4000000].");
        }
        WintunLoader.EnsureRegistered();
        nint adapter = Wintun.OpenAdapter(name);
        if (adapter == 0)
        {
            adapter = requestedGuid == Guid.Empty
                ? Wintun.CreateAdapter(name, tunnelType, null)
                : Wintun.CreateAdapter(name, tunnelType, &requestedGuid);
            if (adapter == 0)
            {
                throw Failure($"Creating Wintun adapter {name} failed (jvpn must run as SYSTEM or an elevated administrator)");
            }
        }
        var adapterHandle = new WintunAdapterHandle(adapter);
        try
        {
            Wintun.GetAdapterLuid(adapter, out luid);
            nint session = Wintun.StartSession(adapter, capacity);
            if (session == 0)
            {
                throw Failure($"Starting a Wintun session on {name} failed");
            }
            var sessionHandle = new WintunSessionHandle(session);
            nint quit = Kernel32.CreateEvent(0, manualReset: true, initialState: false, null);
            if (quit == 0)
            {
                Exception e = Failure("CreateEvent failed");
                sessionHandle.Dispose();
                throw e;
            }
            return new WintunSessionApi(adapterHandle, sessionHandle, quit);
        }
        catch
        {
            adapterHandle.Dispose();
            throw;
        }
    }

    private static PlatformException Failure(string what)
    {
        int error = Marshal.GetLastPInvokeError();
        return new PlatformException($"{what}: {new Win32Exception(error).Message}", error);
    }

    public byte* ReceivePacket(out uint size, out int error)
    {
        byte* p = Wintun.ReceivePacket(_sessionHandle, out size);
        error = p == null ? Marshal.GetLastPInvokeError() : 0;
        return p;
    }

    public void ReleaseReceivePacket(byte* packet) => Wintun.ReleaseReceivePacket(_sessionHandle, packet);

    public byte* AllocateSendPacket(uint size, out int error)
    {
        byte* p = Wintun.AllocateSendPacket(_sessionHandle, size);
        error = p == null ? Marshal.GetLastPInvokeError() : 0;
        return p;
    }

    public void SendPacket(byte* packet) => Wintun.SendPacket(_sessionHandle, packet);

    public bool WaitForPackets()
    {
        nint* handles = stackalloc nint[2] { _readWaitEvent, _quitEvent };
        uint result = Kernel32.WaitForMultipleObjects(2, handles, waitAll: false, Kernel32.Infinite);
        if (result == Kernel32.WaitObject0)
        {
            return true;
        }
        if (result == Kernel32.WaitObject0 + 1)
        {
            return false;
        }
        throw Failure("Waiting for Wintun packets failed");
    }

    public void SignalQuit() => Kernel32.SetEvent(_quitEvent);

    public void Dispose()
    {
        _session.Dispose();
        _adapter.Dispose();
        Kernel32.CloseHandle(_quitEvent);
    }
}
