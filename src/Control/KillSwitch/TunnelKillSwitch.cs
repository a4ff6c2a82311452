using JumpingVpn.Platform.Net.KillSwitch;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.KillSwitch;

/// <summary>
/// The kill switch of one running tunnel (docs/platform.md §4.8): installed before the tunnel takes the default
/// route, re-installed when the sockets' fwmark changes, switched on and off at run time (`jvpn killswitch`, the
/// UI), and removed by a clean stop. A crash removes nothing: the rules stay (lockdown) until `jvpn down NAME`
/// or the toggle. The rules name no path, so path switches and reattaches never touch them; only "allow LAN"
/// names the path interfaces' connected subnets, read again when links or addresses change (<see cref="NetworkChanged"/>).
/// </summary>
public sealed class TunnelKillSwitch
{
    private readonly IKillSwitch _platform;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Func<IReadOnlyList<LanSubnet>> _lan;
    private KillSwitchRules _rules;
    private bool _preexisting;

    /// <param name="lan">Reads the private subnets connected to the path interfaces now (docs/platform.md §4.8
    /// "Allow LAN"); called off the packet path, when allow-LAN is switched on and when the network changes.</param>
    public TunnelKillSwitch(IKillSwitch platform, KillSwitchRules rules, bool fullTunnel, ILogger logger,
        bool allowLan = false, Func<IReadOnlyList<LanSubnet>>? lan = null)
    {
        _platform = platform;
        _rules = rules;
        FullTunnel = fullTunnel;
        _logger = logger;
        AllowLan = allowLan;
        _lan = lan ?? (() => []);
    }

    /// <summary>Whether traffic to the LAN (the path interfaces' private connected subnets) is let through.</summary>
    public bool AllowLan { get; private set; }

    /// <summary>The LAN subnets the installed rules let through (empty when off or blocked).</summary>
    public IReadOnlyList<LanSubnet> Lan
    {
        get
        {
            lock (_gate)
            {
                return Enabled ? _rules.Lan : [];
            }
        }
    }

    /// <summary>Whether the config routes everything through the tunnel (the switch may only be on then).</summary>
    public bool FullTunnel { get; }

    /// <summary>Whether this process has the rules in place.</summary>
    public bool Enabled { get; private set; }

    /// <summary>Packets refused so far, when the OS counts them.</summary>
    public long? Refused => Enabled ? _platform.Refused(_rules.TunnelInterface) : null;

    /// <summary>
    /// Installs the rules (replacing a crashed run's in one step). Remembers whether a table was already there,
    /// so a start that fails afterwards leaves an earlier lockdown in place instead of lifting it.
    /// </summary>
    public void Enable() => Enable(AllowLan);

    /// <summary>Installs the rules with allow-LAN set to <paramref name="allowLan"/> (kept for later network changes).</summary>
    public void Enable(bool allowLan)
    {
        if (!FullTunnel)
        {
            throw new KillSwitchException(
                $"{_rules.TunnelInterface} is not a full tunnel (no peer has AllowedIPs 0.0.0.0/0 or ::/0): the kill switch would cut off every network outside AllowedIPs");
        }
        lock (_gate)
        {
            if (!Enabled)
            {
                _preexisting = _platform.IsInstalled(_rules.TunnelInterface);
            }
            AllowLan = allowLan;
            _rules = _rules.WithLan(allowLan ? _lan() : []);
            _platform.Install(_rules);
            Enabled = true;
        }
        _logger.LogInformation("{Name}: kill switch on: only the tunnel, {Servers} server endpoint(s), DHCP and neighbour discovery may leave{Lan}",
            _rules.TunnelInterface, _rules.Servers.Count, allowLan ? "; LAN allowed: " + Describe(_rules.Lan) : "");
    }

    /// <summary>
    /// Links or addresses changed: with allow-LAN on, the connected subnets are read again and, when they differ,
    /// the rules are replaced in one transaction (a new Wi-Fi's subnet opens, the old one closes).
    /// </summary>
    public void NetworkChanged()
    {
        IReadOnlyList<LanSubnet> lan;
        lock (_gate)
        {
            if (!Enabled || !AllowLan)
            {
                return;
            }
            lan = _lan();
            if (Same(lan, _rules.Lan))
            {
                return;
            }
            _rules = _rules.WithLan(lan);
            _platform.Install(_rules);
        }
        _logger.LogInformation("{Name}: kill switch: LAN allowed now: {Lan}", _rules.TunnelInterface, Describe(lan));
    }

    private static bool Same(IReadOnlyList<LanSubnet> a, IReadOnlyList<LanSubnet> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }
        for (int i = 0; i < a.Count; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }
        return true;
    }

    private static string Describe(IReadOnlyList<LanSubnet> lan) => lan.Count == 0 ? "none connected" : string.Join(", ", lan);

    /// <summary>Removes the rules (the toggle, or a clean stop).</summary>
    public void Disable()
    {
        lock (_gate)
        {
            _platform.Remove(_rules.TunnelInterface);
            Enabled = false;
            _preexisting = false;
        }
        _logger.LogInformation("{Name}: kill switch off", _rules.TunnelInterface);
    }

    /// <summary>The fwmark of the tunnel's sockets changed (full-tunnel routing picked its table, or `wg set fwmark`):
    /// the server rule must match the new mark.</summary>
    public void SetMark(uint mark)
    {
        lock (_gate)
        {
            _rules = _rules.WithMark(mark == 0 ? null : mark);
            if (Enabled)
            {
                _platform.Install(_rules);
            }
        }
    }

    /// <summary>
    /// The tunnel stops. After a clean run the rules go; after a start that failed they go only if this run put
    /// them there, so a restart that fails under a crashed run's lockdown keeps the lockdown.
    /// </summary>
    public void Stop(bool started)
    {
        lock (_gate)
        {
            if (!Enabled || (!started && _preexisting))
            {
                return;
            }
        }
        Disable();
    }
}
