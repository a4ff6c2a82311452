using System.Net;
using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Control.Uapi.Transport;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Tests.Control.KillSwitch;

/// <summary>
/// The toggle with no jvpn running (docs/platform.md §4.8): a crashed run's rules read as lockdown and lifted by
/// "off"; "on" needs the running tunnel and says how to get it. The running case goes over the control socket and
/// is covered end to end (EndToEnd/KillSwitchTests).
/// </summary>
public sealed class KillSwitchControlTests : IDisposable
{
    private readonly string _socketDirectory = Directory.CreateTempSubdirectory("jvks").FullName;

    private sealed class LeftoverKillSwitch(bool installed) : IKillSwitch
    {
        public bool Installed { get; private set; } = installed;

        public void Install(KillSwitchRules rules) => Installed = true;

        public bool Remove(string tunnelInterface)
        {
            bool had = Installed;
            Installed = false;
            return had;
        }

        public bool IsInstalled(string tunnelInterface) => Installed;

        public long? Refused(string tunnelInterface) => Installed ? 4 : null;
    }

    private KillSwitchControl Control(IKillSwitch os) => new(UapiTransports.For(_socketDirectory), os);

    [Fact]
    public void A_crashed_runs_rules_are_a_lockdown_and_off_lifts_them()
    {
        var os = new LeftoverKillSwitch(installed: true);

        KillSwitchState before = Control(os).Status("jv0");
        KillSwitchState after = Control(os).Set("jv0", on: false);

        Assert.Equal(new KillSwitchState("jv0", Running: false, Enabled: true, FullTunnel: null, Refused: 4), before);
        Assert.True(before.Lockdown);
        Assert.Equal(new KillSwitchState("jv0", false, false, null, null), after);
        Assert.False(os.Installed);
        Assert.Equal("jv0: kill switch off (jv0 is not running)", after.Describe());
    }

    [Fact]
    public void On_needs_the_running_tunnel_and_says_how()
    {
        var os = new LeftoverKillSwitch(installed: false);

        KillSwitchException e = Assert.Throws<KillSwitchException>(() => Control(os).Set("jv0", on: true));

        Assert.Contains("jv0 is not running", e.Message, StringComparison.Ordinal);
        Assert.Contains("[Jumping] KillSwitch = on", e.Message, StringComparison.Ordinal);
        Assert.Contains("'jvpn up jv0'", e.Message, StringComparison.Ordinal);
        Assert.False(os.Installed);
    }

    [Fact]
    public void Without_an_os_kill_switch_nothing_is_in_place()
    {
        var control = new KillSwitchControl(UapiTransports.For(_socketDirectory), platform: null);

        Assert.False(control.Status("jv0").Enabled);
        Assert.False(control.Set("jv0", on: false).Enabled);
    }

    public void Dispose() => Directory.Delete(_socketDirectory, recursive: true);
}
