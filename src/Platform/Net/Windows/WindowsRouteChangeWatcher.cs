using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Threading.Channels;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>
/// Raises <see cref="Changed"/> when Windows reports a route, unicast address or IP interface change
/// (NotifyRouteChange2, NotifyUnicastIpAddressChange, NotifyIpInterfaceChange for both families;
/// docs/platform.md §3.3 and §7: the sources Tailscale's netmon_windows.go and wireguard-windows'
/// default-route monitor use). The reason names the event, e.g. <c>route add 0.0.0.0/0 if 12</c>.
/// </summary>
/// <remarks>
/// The OS callbacks run on OS thread-pool threads; they only format the reason and post it to a channel,
/// and one task raises <see cref="Changed"/> from there, so a slow subscriber never holds an OS callback
/// and a subscriber may call <see cref="Dispose"/> (CancelMibChangeNotify2 deadlocks when called from a
/// callback). Events are not coalesced: consumers debounce as they need (wireguard-windows waited
/// 150 ms after the last route change; Tailscale re-reads state on the first event).
/// </remarks>
public sealed class WindowsRouteChangeWatcher : IDisposable
{
    private readonly Channel<string> _events = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private GCHandle _self;
    private nint _routeHandle;
    private nint _addressHandle;
    private nint _interfaceHandle;
    private Task? _pump;
    private int _disposed;

    /// <summary>A change happened; the argument says which (for logs and audit, not for parsing).</summary>
    public event Action<string>? Changed;

    /// <summary>Handler exceptions are caught so one failing subscriber cannot stop the watcher; they land here.</summary>
    public event Action<Exception>? HandlerFailed;

    /// <summary>Registers the three notifications and starts raising events.</summary>
    [SupportedOSPlatform("windows")]
    public unsafe void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_self.IsAllocated)
        {
            throw new InvalidOperationException("The watcher is already started.");
        }
        StartPump();
        _self = GCHandle.Alloc(this);
        nint context = GCHandle.ToIntPtr(_self);
        try
        {
            nint h;
            Check(IpHelper.NotifyRouteChange2(IpHelperConstants.AfUnspec, &OnRouteChange, context, 0, &h), "NotifyRouteChange2");
            _routeHandle = h;
            Check(IpHelper.NotifyUnicastIpAddressChange(IpHelperConstants.AfUnspec, &OnAddressChange, context, 0, &h), "NotifyUnicastIpAddressChange");
            _addressHandle = h;
            Check(IpHelper.NotifyIpInterfaceChange(IpHelperConstants.AfUnspec, &OnInterfaceChange, context, 0, &h), "NotifyIpInterfaceChange");
            _interfaceHandle = h;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Starts the task that raises <see cref="Changed"/> (separate from the OS registration so it is testable anywhere).</summary>
    internal void StartPump() => _pump ??= Task.Run(PumpAsync);

    /// <summary>What a callback does: queue the reason without blocking. False once disposed.</summary>
    internal bool Post(string reason) => _events.Writer.TryWrite(reason);

    private async Task PumpAsync()
    {
        await foreach (string reason in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                Changed?.Invoke(reason);
            }
#pragma warning disable CA1031 // Subscribers are arbitrary code; the watcher must keep watching.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                HandlerFailed?.Invoke(ex);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static unsafe void OnRouteChange(nint context, MibIpForwardRow2* row, int type) =>
        PostFromCallback(context, row == null ? Describe("route", type) : RouteReason(*row, type));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static unsafe void OnAddressChange(nint context, MibUnicastIpAddressRow* row, int type) =>
        PostFromCallback(context, row == null ? Describe("address", type) : AddressReason(*row, type));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static unsafe void OnInterfaceChange(nint context, MibIpInterfaceRow* row, int type) =>
        PostFromCallback(context, row == null ? Describe("interface", type) : InterfaceReason(*row, type));

    private static void PostFromCallback(nint context, string reason)
    {
        // An exception must never unwind into the OS thread; a freed handle means we are disposing.
        if (context != 0 && GCHandle.FromIntPtr(context).Target is WindowsRouteChangeWatcher watcher)
        {
            watcher.Post(reason);
        }
    }

    internal static string RouteReason(in MibIpForwardRow2 row, int type)
    {
        IPAddress prefix = ToAddress(row.DestinationPrefix.Prefix);
        return string.Create(CultureInfo.InvariantCulture, $"route {Verb(type)} {prefix}/{row.DestinationPrefix.PrefixLength} if {row.InterfaceIndex}");
    }

    internal static string AddressReason(in MibUnicastIpAddressRow row, int type) =>
        string.Create(CultureInfo.InvariantCulture, $"address {Verb(type)} {ToAddress(row.Address)} if {row.InterfaceIndex}");

    internal static string InterfaceReason(in MibIpInterfaceRow row, int type) =>
        string.Create(CultureInfo.InvariantCulture, $"interface {Verb(type)} {(row.Family == IpHelperConstants.AfInet6 ? "ipv6" : "ipv4")} if {row.InterfaceIndex}");

    internal static string Describe(string what, int type) => what + " " + Verb(type);

    internal static string Verb(int type) => type switch
    {
        MibNotificationType.Parameter => "change",
        MibNotificationType.AddInstance => "add",
        MibNotificationType.DeleteInstance => "delete",
        MibNotificationType.Initial => "initial",
        _ => "type" + type.ToString(CultureInfo.InvariantCulture),
    };

    internal static unsafe IPAddress ToAddress(in SockAddrInet sa)
    {
        fixed (byte* v4 = sa.Ipv4Address)
        fixed (byte* v6 = sa.Ipv6Address)
        {
            return sa.Family switch
            {
                IpHelperConstants.AfInet => new IPAddress(new ReadOnlySpan<byte>(v4, 4)),
                IpHelperConstants.AfInet6 => new IPAddress(new ReadOnlySpan<byte>(v6, 16), sa.Ipv6ScopeId),
                _ => IPAddress.None,
            };
        }
    }

    private static void Check(uint status, string call)
    {
        if (status != IpHelperConstants.NoError)
        {
            throw new PlatformException($"{call} failed: {new System.ComponentModel.Win32Exception((int)status).Message}", (int)status);
        }
    }

    /// <summary>
    /// Cancels the notifications (waiting for running callbacks, so never call this from inside the OS
    /// callback; <see cref="Changed"/> handlers are fine), then stops raising events.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            foreach (nint handle in (ReadOnlySpan<nint>)[_routeHandle, _addressHandle, _interfaceHandle])
            {
                if (handle != 0)
                {
                    _ = IpHelper.CancelMibChangeNotify2(handle);
                }
            }
        }
        _routeHandle = _addressHandle = _interfaceHandle = 0;
        // Only after every registration is cancelled may the context handle go: no callback can run now.
        if (_self.IsAllocated)
        {
            _self.Free();
        }
        _events.Writer.TryComplete();
    }
}
