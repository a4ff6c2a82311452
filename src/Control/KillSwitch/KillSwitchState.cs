namespace JumpingVpn.Control.KillSwitch;

/// <summary>
/// What `jvpn killswitch NAME status` and the UI show (docs/platform.md §4.8).
/// </summary>
/// <param name="Tunnel">The interface name.</param>
/// <param name="Running">A jvpn serves the interface.</param>
/// <param name="Enabled">The rules are in place (by the running jvpn, or left by one that ended without `jvpn down`).</param>
/// <param name="FullTunnel">The running config is a full tunnel (the switch may be turned on); null when not running.</param>
/// <param name="Refused">Packets refused so far, when known.</param>
public sealed record KillSwitchState(string Tunnel, bool Running, bool Enabled, bool? FullTunnel, long? Refused)
{
    /// <summary>Rules in place with no jvpn running: everything outside the tunnel is blocked until lifted.</summary>
    public bool Lockdown => Enabled && !Running;

    /// <summary>Whether traffic to the LAN is let through ("allow LAN", docs/platform.md §4.8); known while running.</summary>
    public bool AllowLan { get; init; }

    /// <summary>The LAN subnets the rules let through now ("192.168.1.0/24 on wlan0, ..."), empty for none.</summary>
    public string Lan { get; init; } = "";

    /// <summary>One line for people.</summary>
    public string Describe()
    {
        if (Lockdown)
        {
            return $"{Tunnel}: kill switch on, lockdown: {Tunnel} is not running and all traffic outside the tunnel is blocked; 'jvpn up {Tunnel}' reconnects, 'jvpn down {Tunnel}' or 'jvpn killswitch {Tunnel} off' lifts it";
        }
        if (!Running)
        {
            return $"{Tunnel}: kill switch off ({Tunnel} is not running)";
        }
        string refused = Refused is long n ? $", {n} packet(s) refused" : "";
        string lan = AllowLan ? $"; LAN allowed ({(Lan.Length == 0 ? "no private subnet connected" : Lan)})" : "";
        return Enabled
            ? $"{Tunnel}: kill switch on: only the tunnel may carry traffic{lan}{refused}"
            : FullTunnel == true
                ? $"{Tunnel}: kill switch off"
                : $"{Tunnel}: kill switch off (a split tunnel cannot have one)";
    }
}
