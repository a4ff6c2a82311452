using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Windows;
using JumpingVpn.Platform.Net.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>
/// The change-notification bindings against netioapi.h (docs/platform.md §3.3), the callbacks' shape, the
/// reasons they report, and the hand-off from callback to <see cref="WindowsRouteChangeWatcher.Changed"/>.
/// </summary>
public sealed class RouteChangeWatcherTests
{
    private static MethodInfo Import(string name) =>
        typeof(IpHelper).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic) ?? throw new InvalidOperationException(name);

    public static TheoryData<string, Type> NotifyCalls => new()
    {
        { nameof(IpHelper.NotifyRouteChange2), typeof(MibIpForwardRow2) },
        { nameof(IpHelper.NotifyUnicastIpAddressChange), typeof(MibUnicastIpAddressRow) },
        { nameof(IpHelper.NotifyIpInterfaceChange), typeof(MibIpInterfaceRow) },
    };

    [Theory]
    [MemberData(nameof(NotifyCalls))]
    public void NotifyCallsMatchTheHeader(string method, Type row)
    {
        MethodInfo m = Import(method);
        LibraryImportAttribute import = m.GetCustomAttribute<LibraryImportAttribute>()!;
        Assert.Equal("iphlpapi.dll", import.LibraryName);
        Assert.Equal(method, import.EntryPoint);
        Assert.False(import.SetLastError); // NETIO_STATUS is the return value
        Assert.Equal(typeof(uint), m.ReturnType);
        ParameterInfo[] p = m.GetParameters();
        Assert.Equal(5, p.Length);
        Assert.Equal(typeof(ushort), p[0].ParameterType); // ADDRESS_FAMILY
        Assert.Equal(typeof(nint), p[2].ParameterType); // PVOID CallerContext
        Assert.Equal(typeof(byte), p[3].ParameterType); // BOOLEAN: one byte
        Assert.Equal(typeof(nint*), p[4].ParameterType); // HANDLE*

        // VOID (WINAPI *)(PVOID, ROW*, MIB_NOTIFICATION_TYPE)
        Type callback = p[1].GetModifiedParameterType();
        Assert.True(callback.IsFunctionPointer);
        Assert.True(callback.IsUnmanagedFunctionPointer);
        Assert.Contains(typeof(CallConvStdcall), callback.GetFunctionPointerCallingConventions());
        Assert.Equal(typeof(void), callback.GetFunctionPointerReturnType().UnderlyingSystemType);
        Type[] args = [.. callback.GetFunctionPointerParameterTypes().Select(t => t.UnderlyingSystemType)];
        Assert.Equal([typeof(nint), row.MakePointerType(), typeof(int)], args);
    }

    [Fact]
    public unsafe void CancelAndTableCallsMatchTheHeader()
    {
        MethodInfo cancel = Import(nameof(IpHelper.CancelMibChangeNotify2));
        Assert.Equal("CancelMibChangeNotify2", cancel.GetCustomAttribute<LibraryImportAttribute>()!.EntryPoint);
        Assert.Equal([typeof(nint)], cancel.GetParameters().Select(p => p.ParameterType));
        MethodInfo table = Import(nameof(IpHelper.GetIpForwardTable2));
        Assert.Equal([typeof(ushort), typeof(MibIpForwardTable2**)], table.GetParameters().Select(p => p.ParameterType));
        MethodInfo free = Import(nameof(IpHelper.FreeMibTable));
        Assert.Equal([typeof(void*)], free.GetParameters().Select(p => p.ParameterType));
        // ULONG NumEntries, then rows aligned to their 8-byte LUID.
        Assert.Equal(8, (int)Marshal.OffsetOf<MibIpForwardTable2>(nameof(MibIpForwardTable2.Table)));
        Assert.Equal(0, IpHelperConstants.AfUnspec);
    }

    [Theory]
    [InlineData("OnRouteChange", typeof(MibIpForwardRow2))]
    [InlineData("OnAddressChange", typeof(MibUnicastIpAddressRow))]
    [InlineData("OnInterfaceChange", typeof(MibIpInterfaceRow))]
    public void CallbacksAreStdcallEntryPointsOfTheRightShape(string name, Type row)
    {
        MethodInfo m = typeof(WindowsRouteChangeWatcher).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!;
        UnmanagedCallersOnlyAttribute entry = m.GetCustomAttribute<UnmanagedCallersOnlyAttribute>()!;
        Assert.Equal([typeof(CallConvStdcall)], entry.CallConvs!);
        Assert.Equal(typeof(void), m.ReturnType);
        Assert.Equal([typeof(nint), row.MakePointerType(), typeof(int)], m.GetParameters().Select(p => p.ParameterType));
    }

    [Fact]
    public void NotificationTypesAndVerbs()
    {
        Assert.Equal((0, 1, 2, 3), (MibNotificationType.Parameter, MibNotificationType.AddInstance, MibNotificationType.DeleteInstance, MibNotificationType.Initial));
        Assert.Equal("change", WindowsRouteChangeWatcher.Verb(0));
        Assert.Equal("add", WindowsRouteChangeWatcher.Verb(1));
        Assert.Equal("delete", WindowsRouteChangeWatcher.Verb(2));
        Assert.Equal("initial", WindowsRouteChangeWatcher.Verb(3));
        Assert.Equal("type9", WindowsRouteChangeWatcher.Verb(9));
        Assert.Equal("route initial", WindowsRouteChangeWatcher.Describe("route", 3));
    }

    [Fact]
    public void ReasonsNameTheRowThatChanged()
    {
        MibIpForwardRow2 route = default;
        route.DestinationPrefix.Prefix = IpHelperConfigurator.ToSockAddr(IPAddress.Any);
        route.DestinationPrefix.PrefixLength = 0;
        route.InterfaceIndex = 12;
        Assert.Equal("route add 0.0.0.0/0 if 12", WindowsRouteChangeWatcher.RouteReason(route, MibNotificationType.AddInstance));

        MibUnicastIpAddressRow address = default;
        address.Address = IpHelperConfigurator.ToSockAddr(IPAddress.Parse("fd00::7"));
        address.InterfaceIndex = 3;
        Assert.Equal("address delete fd00::7 if 3", WindowsRouteChangeWatcher.AddressReason(address, MibNotificationType.DeleteInstance));

        MibIpInterfaceRow iface = default;
        iface.Family = IpHelperConstants.AfInet6;
        iface.InterfaceIndex = 5;
        Assert.Equal("interface change ipv6 if 5", WindowsRouteChangeWatcher.InterfaceReason(iface, MibNotificationType.Parameter));
    }

    [Fact]
    public async Task PostedReasonsReachSubscribersInOrderAndAFailingOneDoesNotStopThem()
    {
        using var watcher = new WindowsRouteChangeWatcher();
        var seen = new List<string>();
        var failures = new List<Exception>();
        var done = new TaskCompletionSource();
        watcher.Changed += reason =>
        {
            if (reason == "boom")
            {
                throw new InvalidOperationException("subscriber failed");
            }
            seen.Add(reason);
            if (reason == "last")
            {
                done.TrySetResult();
            }
        };
        watcher.HandlerFailed += failures.Add;
        watcher.StartPump();

        Assert.True(watcher.Post("route add 0.0.0.0/0 if 4"));
        Assert.True(watcher.Post("boom"));
        Assert.True(watcher.Post("last"));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        Assert.Equal(["route add 0.0.0.0/0 if 4", "last"], seen);
        Assert.Equal("subscriber failed", Assert.Single(failures).Message);
        watcher.Dispose();
        Assert.False(watcher.Post("after dispose"));
    }

    [Fact]
    public void StartNeedsWindows()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "on Windows Start really registers");
        using var watcher = new WindowsRouteChangeWatcher();
        Assert.ThrowsAny<Exception>(() =>
        {
#pragma warning disable CA1416 // calling it elsewhere is the point: iphlpapi.dll does not load
            watcher.Start();
#pragma warning restore CA1416
        });
    }
}

/// <summary>The IP_UNICAST_IF target: wireguard-windows' bindSocketRoute choice.</summary>
public sealed class DefaultRouteInterfaceTests
{
    private const ulong Tunnel = 0xAAAA;

    [Fact]
    public void LowestRoutePlusInterfaceMetricOutsideTheTunnelWins()
    {
        DefaultRouteCandidate[] routes =
        [
            new(Tunnel, 40, 0, 0, true),          // the tunnel's own 0.0.0.0/0: never
            new(0x1, 7, 25, 50, true),            // Wi-Fi: 75
            new(0x2, 9, 10, 55, true),            // Ethernet: 65
            new(0x3, 11, 0, 1, false),            // disconnected: never
        ];
        Assert.Equal(9u, DefaultRouteInterface.Pick(routes, Tunnel));
    }

    [Fact]
    public void NothingOutsideTheTunnelMeansUnpinned()
    {
        Assert.Equal(0u, DefaultRouteInterface.Pick([new(Tunnel, 40, 0, 0, true)], Tunnel));
        Assert.Equal(0u, DefaultRouteInterface.Pick([], Tunnel));
    }

    [Fact]
    public void MetricsDoNotOverflow() =>
        Assert.Equal(2u, DefaultRouteInterface.Pick([new(0x1, 1, uint.MaxValue, uint.MaxValue, true), new(0x2, 2, uint.MaxValue, 0, true)], Tunnel));

    [Fact]
    public void FullTunnelMetricRowIsLowestAndManual()
    {
        MibIpInterfaceRow row = default;
        row.Family = IpHelperConstants.AfInet;
        row.UseAutomaticMetric = 1;
        row.Metric = 25;
        row.SitePrefixLength = 64;
        IpHelperConfigurator.ApplyLowestMetric(ref row);
        Assert.Equal((0, 0u, 0u), (row.UseAutomaticMetric, row.Metric, row.SitePrefixLength));
    }
}
