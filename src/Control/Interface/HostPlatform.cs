using JumpingVpn.Control.Config;
using JumpingVpn.Platform.Tun;
using JumpingVpn.Platform.Udp;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Interface;

/// <summary>What <see cref="HostPlatform.Configure"/> works on: the interface being brought up.
/// <paramref name="SetFwMark"/> marks every UDP socket of the interface (the main one and the client's path
/// sockets) for a full tunnel's policy routing.</summary>
internal sealed record HostContext(TunnelConfig Config, int Mtu, UdpTransport Udp, ITunDevice Tun, List<Action> Undo, ILogger Logger,
    Action<uint> SetFwMark)
{
    public string Name => Config.InterfaceName;
}

/// <summary>
/// The OS-specific steps of bringing an interface up, one subclass per OS: the TUN device, the UDP
/// socket's mode, addresses/routes/MTU/DNS, and how hooks run. The composition root
/// (Hosting.HostComposition, docs/platform.md §8) chooses one; <see cref="InterfaceHost"/> is the same everywhere.
/// </summary>
internal abstract class HostPlatform
{
    /// <summary>The selection itself, separated so every branch can be tested on one machine.</summary>
    internal static HostPlatform Select(bool windows, bool linux)
    {
        if (windows)
        {
            return new WindowsHostPlatform();
        }
        if (linux)
        {
            return new LinuxHostPlatform();
        }
        throw new PlatformNotSupportedException(
            $"jvpn can bring up interfaces on Linux and Windows, not on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }

    public abstract string Name { get; }

    /// <summary>The interface's UDP socket on <paramref name="port"/> (0 = any).</summary>
    public abstract UdpTransport BindUdp(int port);

    /// <summary>
    /// The listen port for <paramref name="count"/> receive threads (docs/threads.md "Receive threads"): element 0
    /// is the interface's socket, the others join it in a SO_REUSEPORT group. Platforms without one bind a
    /// single socket, and the interface runs one receive thread.
    /// </summary>
    public virtual UdpTransport[] BindUdpGroup(int port, int count) => [BindUdp(port)];

    public abstract ITunDevice CreateTun(string name);

    /// <summary>MTU, addresses, link up, DNS and routes in wg-quick's order; adds what undoes them to
    /// <see cref="HostContext.Undo"/> (run in reverse on teardown).</summary>
    public abstract void Configure(HostContext context);

    /// <summary>The program and arguments that run one PreUp/PostUp/PreDown/PostDown line.</summary>
    public abstract (string File, string[] Arguments) HookCommand(string command);

    /// <summary>The OS side of the client's path manager (interfaces, change notifications, per-interface
    /// sockets); null where the OS has none.</summary>
    public abstract JumpingVpn.Platform.Net.IPathPlatform? Paths { get; }

    /// <summary>Whether the TUN device batches with offloads (for the start-up log line).</summary>
    public virtual bool TunOffloadEnabled(ITunDevice tun) => false;

    /// <summary>True when the TUN also carries UDP super-packets (USO) both ways and received UDP is
    /// coalesced into them (docs/performance.md "Inner UDP").</summary>
    public virtual bool TunUdpOffloadEnabled(ITunDevice tun) => false;
}
