using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Transport;
using JumpingVpn.Platform.Buffers;
using JumpingVpn.Platform.Net.Windows;
using JumpingVpn.Platform.Udp;

namespace JumpingVpn.WineSmoke;

/// <summary>
/// Runs the Windows code paths against Win32 (Wine on Linux, or real Windows): prints PASS/FAIL/SKIP
/// lines and exits with the number of failures. SKIP marks a Win32 export the runtime lacks (Wine
/// gaps), which says nothing about jvpn. No adapter is created: Wintun needs real Windows.
/// </summary>
internal static class Program
{
    private const string Name = "jvwine0";
    private static int s_failures;

    [SupportedOSPlatform("windows")]
    public static int Main()
    {
        if (!OperatingSystem.IsWindows())
        {
            Console.Error.WriteLine("wine-smoke: run the win-x64 build under Wine or on Windows");
            return 2;
        }
        ControlPipe();
        DefaultRoute();
        RouteWatcher();
        PortableUdp();
        Console.WriteLine(s_failures == 0 ? "wine-smoke: all checks passed" : $"wine-smoke: {s_failures} check(s) failed");
        return s_failures;
    }

    private static void Check(bool ok, string what)
    {
        Console.WriteLine((ok ? "PASS " : "FAIL ") + what);
        s_failures += ok ? 0 : 1;
    }

    private static void ControlPipe()
    {
        IUapiTransport transport = UapiTransports.Default;
        Check(transport is NamedPipeUapiTransport, "the default UAPI transport is the named pipe");
        var device = new StaticDevice();
        using (UapiServer server = UapiServer.Start(Name, device, transport))
        {
            Check(server.SocketPath == @"\\.\pipe\ProtectedPrefix\Administrators\WireGuard\" + Name, "pipe " + server.SocketPath);
            string get = UapiClient.Get(transport, Name);
            Check(get == "listen_port=51820\nerrno=0\n\n", "get=1 answers over the pipe");
            bool same = true;
            for (int i = 0; i < 20; i++)
            {
                same &= UapiClient.Get(transport, Name) == get;
            }
            Check(same, "20 clients one after another (pipe instances handed over)");
            for (int round = 0; round < 5; round++)
            {
                // Own threads, not the thread pool: 16 blocking clients on pool threads would starve the
                // server's async handlers in this same process (a test artefact, not how jvpn is used).
                string?[] answers = new string?[16];
                Thread[] clients = [.. Enumerable.Range(0, answers.Length).Select(i => new Thread(() =>
                {
                    try
                    {
                        answers[i] = UapiClient.Get(transport, Name);
                    }
                    catch (UapiException ex)
                    {
                        answers[i] = ex.Message;
                    }
                }))];
                Array.ForEach(clients, t => t.Start());
                Array.ForEach(clients, t => t.Join());
                string? wrong = answers.FirstOrDefault(a => a != get);
                Check(wrong is null, $"16 clients at once, round {round}" + (wrong is null ? "" : ": " + wrong));
            }
            Check(UapiClient.Request(transport, Name, "set=1\nlisten_port=1\n\n") == "errno=0\n\n", "set=1");
            Check(transport.Exists(Name), "the pipe exists while served (WaitNamedPipe)");
            try
            {
                using UapiServer second = UapiServer.Start(Name, device, transport);
                Check(false, "a second server for the same name is refused");
            }
            catch (InvalidOperationException ex)
            {
                Check(ex.Message.Contains("already running", StringComparison.Ordinal), "a second server is refused: " + ex.Message);
            }
        }
        Check(!transport.Exists(Name), "the pipe is gone after Dispose");
        try
        {
            UapiClient.Get(transport, Name);
            Check(false, "a client of a stopped interface is told it is not running");
        }
        catch (UapiInterfaceNotRunningException ex)
        {
            Check(true, "not running: " + ex.Message);
        }
    }

    [SupportedOSPlatform("windows")]
    private static void DefaultRoute()
    {
        try
        {
            Check(true, "default-route interface for IPv4: " + DefaultRouteInterface.Find(AddressFamily.InterNetwork, 0));
        }
        catch (EntryPointNotFoundException ex)
        {
            Console.WriteLine("SKIP default route: " + ex.Message);
        }
    }

    [SupportedOSPlatform("windows")]
    private static void RouteWatcher()
    {
        using var watcher = new WindowsRouteChangeWatcher();
        watcher.Changed += reason => Console.WriteLine("  change: " + reason);
        try
        {
            watcher.Start();
            Check(true, "route/address/interface notifications registered");
        }
        catch (EntryPointNotFoundException ex)
        {
            Console.WriteLine("SKIP route watcher: " + ex.Message);
        }
    }

    [SupportedOSPlatform("windows")]
    private static void PortableUdp()
    {
        using UdpTransport a = UdpTransport.Bind(0);
        using UdpTransport b = UdpTransport.Bind(0);
        Check(!a.Batched && !a.GsoEnabled && !a.GroEnabled, "UDP uses the portable one-datagram path");
        var tx = new PacketBatch(3, 2048, 0);
        for (int i = 0; i < 3; i++)
        {
            tx.SetPacket(i, 0, 100 + i);
            tx.Packet(i).Fill((byte)(i + 1));
        }
        IPEndPoint target = a.DualMode ? new IPEndPoint(IPAddress.Loopback.MapToIPv6(), b.LocalPort) : new IPEndPoint(IPAddress.Loopback, b.LocalPort);
        Check(a.SendSegments(tx, 0, 3, target.Serialize()), "SendSegments sends 3 datagrams");
        var rx = new PacketBatch(4, 2048, 0);
        SocketAddress[] sources = [b.CreateAddressBuffer(), b.CreateAddressBuffer(), b.CreateAddressBuffer(), b.CreateAddressBuffer()];
        var lengths = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            int n = b.ReceiveBatch(rx, sources, new int[4]);
            lengths.Add(n == 1 ? rx.Length(0) : -1);
        }
        Check(lengths.SequenceEqual([100, 101, 102]), "ReceiveBatch returns them one per call, in order");
        a.PinToInterface(0);
        Check(true, "IP_UNICAST_IF accepted (index 0 = unpinned)");
    }

    private sealed class StaticDevice : IUapiDevice
    {
        public UapiDeviceSnapshot GetSnapshot() => new(null, 51820, 0, []);

        public UapiResult Apply(UapiSetRequest request) => UapiResult.Ok;
    }
}
