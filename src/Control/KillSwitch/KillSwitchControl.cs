using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Transport;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Control.KillSwitch;

/// <summary>What `jvpn killswitch` and the UI toggle call; tests of the UI pass a fake.</summary>
public interface IKillSwitchControl
{
    KillSwitchState Status(string tunnel);

    /// <summary>Turns the switch on or off; with <paramref name="on"/>, <paramref name="allowLan"/> sets whether the LAN
    /// stays reachable (null keeps the tunnel's setting). A request that cannot be done throws <see cref="KillSwitchException"/>.</summary>
    KillSwitchState Set(string tunnel, bool on, bool? allowLan = null);
}

/// <summary>
/// The toggle (docs/platform.md §4.8): a running tunnel is asked over its control socket, since only it knows
/// its resolved server endpoints and its sockets' fwmark; with no jvpn running, the rules a crashed run left
/// (lockdown) are read and lifted directly through the OS's kill switch.
/// </summary>
public sealed class KillSwitchControl(IUapiTransport transport, IKillSwitch? platform) : IKillSwitchControl
{
    public KillSwitchState Status(string tunnel) => Ask(tunnel, null, null) ?? Offline(tunnel);

    public KillSwitchState Set(string tunnel, bool on, bool? allowLan = null)
    {
        if (Ask(tunnel, on, allowLan) is { } state)
        {
            return state;
        }
        if (on)
        {
            throw new KillSwitchException(
                $"{tunnel} is not running; the kill switch needs the running tunnel (its interface, server endpoints and DNS): set [Jumping] KillSwitch = on in its config and start it with 'jvpn up {tunnel}'");
        }
        platform?.Remove(tunnel);
        return Offline(tunnel);
    }

    /// <summary>The running daemon's answer, or null when no jvpn serves the interface.</summary>
    private KillSwitchState? Ask(string tunnel, bool? on, bool? allowLan)
    {
        ArgumentException.ThrowIfNullOrEmpty(tunnel);
        string reply;
        try
        {
            reply = UapiClient.Request(transport, tunnel, KillSwitchProtocol.Request(on, allowLan));
        }
        catch (UapiInterfaceNotRunningException)
        {
            return null;
        }
        return KillSwitchProtocol.Parse(tunnel, reply);
    }

    private KillSwitchState Offline(string tunnel)
    {
        bool installed = platform?.IsInstalled(tunnel) ?? false;
        return new KillSwitchState(tunnel, Running: false, installed, FullTunnel: null, installed ? platform!.Refused(tunnel) : null);
    }
}
