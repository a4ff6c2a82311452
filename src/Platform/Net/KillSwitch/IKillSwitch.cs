namespace JumpingVpn.Platform.Net.KillSwitch;

/// <summary>
/// The OS side of the kill switch (docs/platform.md §4.8 Linux, §3.4 Windows): installs a tunnel's rules,
/// replacing any left by an earlier run in one step; removes them; says whether they are in place. The rules are
/// keyed by the tunnel's name, so `jvpn down NAME` can remove them after the process that installed them is gone.
/// </summary>
public interface IKillSwitch
{
    /// <summary>Installs (or atomically replaces) the rules for <see cref="KillSwitchRules.TunnelInterface"/>.</summary>
    void Install(KillSwitchRules rules);

    /// <summary>Removes the tunnel's rules; false when there were none.</summary>
    bool Remove(string tunnelInterface);

    /// <summary>Whether rules for the tunnel are in place.</summary>
    bool IsInstalled(string tunnelInterface);

    /// <summary>How many packets the rules have refused since they were installed; null when they are not in place
    /// or the OS does not count.</summary>
    long? Refused(string tunnelInterface);
}
