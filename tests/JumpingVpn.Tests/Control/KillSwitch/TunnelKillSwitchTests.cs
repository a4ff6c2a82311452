using System.Net;
using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;
using JumpingVpn.Platform.Net.KillSwitch;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.KillSwitch;

/// <summary>
/// The running tunnel's kill switch (docs/platform.md §4.8) against a recording OS side: installed with the mark,
/// re-installed when the mark changes, removed by a clean stop, kept by a failed start under an earlier lockdown,
/// and the control-socket operation the CLI and UI use.
/// </summary>
public sealed class TunnelKillSwitchTests
{
    private sealed class RecordingKillSwitch : IKillSwitch
    {
        public KillSwitchRules? Installed { get; private set; }

        public List<string> Calls { get; } = [];

        public void Install(KillSwitchRules rules)
        {
            Installed = rules;
            Calls.Add($"install mark={rules.SocketMark?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
        }

        public bool Remove(string tunnelInterface)
        {
            bool had = Installed is not null;
            Installed = null;
            Calls.Add("remove");
            return had;
        }

        public bool IsInstalled(string tunnelInterface) => Installed is not null;

        public long? Refused(string tunnelInterface) => Installed is null ? null : 7;

        /// <summary>A table an earlier run left behind.</summary>
        public void Leftover() => Installed = Rules;
    }

    private static readonly KillSwitchRules Rules = new("jv0", [IPEndPoint.Parse("192.0.2.1:51820")], [], null);

    private static TunnelKillSwitch Create(RecordingKillSwitch os, bool fullTunnel = true) => new(os, Rules, fullTunnel, NullLogger.Instance);

    [Fact]
    public void The_mark_routing_picks_is_put_into_the_installed_rules()
    {
        var os = new RecordingKillSwitch();
        TunnelKillSwitch ks = Create(os);

        ks.Enable();
        ks.SetMark(51820);

        Assert.Equal(["install mark=none", "install mark=51820"], os.Calls);
        Assert.Equal(51820u, os.Installed!.SocketMark);
    }

    [Fact]
    public void A_mark_set_while_off_is_used_when_switched_on_later()
    {
        var os = new RecordingKillSwitch();
        TunnelKillSwitch ks = Create(os);

        ks.SetMark(51821);
        ks.Enable();

        Assert.Equal(["install mark=51821"], os.Calls);
    }

    [Fact]
    public void A_clean_stop_removes_the_rules()
    {
        var os = new RecordingKillSwitch();
        TunnelKillSwitch ks = Create(os);
        ks.Enable();

        ks.Stop(started: true);

        Assert.Null(os.Installed);
        Assert.False(ks.Enabled);
    }

    [Fact]
    public void A_failed_start_keeps_an_earlier_runs_lockdown()
    {
        var os = new RecordingKillSwitch();
        os.Leftover();
        TunnelKillSwitch ks = Create(os);
        ks.Enable();

        ks.Stop(started: false);

        Assert.NotNull(os.Installed);
        Assert.DoesNotContain("remove", os.Calls);
    }

    [Fact]
    public void A_failed_start_removes_rules_it_installed_itself()
    {
        var os = new RecordingKillSwitch();
        TunnelKillSwitch ks = Create(os);
        ks.Enable();

        ks.Stop(started: false);

        Assert.Null(os.Installed);
    }

    [Fact]
    public void A_split_tunnel_cannot_be_switched_on()
    {
        var os = new RecordingKillSwitch();
        TunnelKillSwitch ks = Create(os, fullTunnel: false);

        KillSwitchException e = Assert.Throws<KillSwitchException>(ks.Enable);

        Assert.Contains("not a full tunnel", e.Message, StringComparison.Ordinal);
        Assert.Empty(os.Calls);
    }

    [Fact]
    public void The_control_operation_switches_and_reports()
    {
        var os = new RecordingKillSwitch();
        TunnelKillSwitch ks = Create(os);

        KillSwitchState on = KillSwitchProtocol.Parse("jv0", KillSwitchProtocol.Handle("jvpn_killswitch=on", ks)!);
        KillSwitchState status = KillSwitchProtocol.Parse("jv0", KillSwitchProtocol.Handle("jvpn_killswitch=status", ks)!);
        KillSwitchState off = KillSwitchProtocol.Parse("jv0", KillSwitchProtocol.Handle("jvpn_killswitch=off", ks)!);

        Assert.Equal(new KillSwitchState("jv0", true, true, true, 7), on);
        Assert.Equal(on, status);
        Assert.Equal(new KillSwitchState("jv0", true, false, true, null), off);
        Assert.Null(os.Installed);
        Assert.Null(KillSwitchProtocol.Handle("jvpn_stats=1", ks));
    }

    [Fact]
    public void Allow_lan_installs_the_subnets_read_now_and_follows_network_changes()
    {
        var os = new RecordingKillSwitch();
        List<LanSubnet> connected = [new("wlan0", IpPrefix.Parse("192.168.1.0/24"))];
        var ks = new TunnelKillSwitch(os, Rules, fullTunnel: true, NullLogger.Instance, allowLan: true, () => [.. connected]);

        ks.Enable();
        Assert.Equal(connected, os.Installed!.Lan);

        ks.NetworkChanged(); // nothing changed: no second install
        Assert.Single(os.Calls);

        connected = [new("wlan0", IpPrefix.Parse("192.168.7.0/24")), new("cell0", IpPrefix.Parse("10.202.1.0/24"))];
        ks.NetworkChanged();
        Assert.Equal(connected, os.Installed!.Lan);
        Assert.Equal(2, os.Calls.Count);

        ks.Enable(allowLan: false);
        Assert.Empty(os.Installed!.Lan);
        ks.NetworkChanged(); // blocked LAN ignores network changes
        Assert.Equal(3, os.Calls.Count);
        Assert.False(ks.AllowLan);
    }

    [Fact]
    public void While_off_network_changes_install_nothing()
    {
        var os = new RecordingKillSwitch();
        var ks = new TunnelKillSwitch(os, Rules, fullTunnel: true, NullLogger.Instance, allowLan: true, () => [new("wlan0", IpPrefix.Parse("192.168.1.0/24"))]);

        ks.NetworkChanged();

        Assert.Empty(os.Calls);
    }

    [Fact]
    public void The_control_operation_sets_allow_lan_and_reports_the_subnets()
    {
        var os = new RecordingKillSwitch();
        var ks = new TunnelKillSwitch(os, Rules, fullTunnel: true, NullLogger.Instance, allowLan: false, () => [new("wlan0", IpPrefix.Parse("192.168.1.0/24"))]);

        KillSwitchState lan = KillSwitchProtocol.Parse("jv0", KillSwitchProtocol.Handle("jvpn_killswitch=on_allow_lan", ks)!);
        KillSwitchState kept = KillSwitchProtocol.Parse("jv0", KillSwitchProtocol.Handle("jvpn_killswitch=on", ks)!);
        KillSwitchState blocked = KillSwitchProtocol.Parse("jv0", KillSwitchProtocol.Handle("jvpn_killswitch=on_block_lan", ks)!);

        Assert.True(lan.AllowLan);
        Assert.Equal("192.168.1.0/24 on wlan0", lan.Lan);
        Assert.Contains("LAN allowed (192.168.1.0/24 on wlan0)", lan.Describe(), StringComparison.Ordinal);
        Assert.True(kept.AllowLan);
        Assert.False(blocked.AllowLan);
        Assert.Equal("", blocked.Lan);
        Assert.DoesNotContain("LAN", blocked.Describe(), StringComparison.Ordinal);
        Assert.Equal("jvpn_killswitch=on_allow_lan\n\n", KillSwitchProtocol.Request(true, true));
        Assert.Equal("jvpn_killswitch=on_block_lan\n\n", KillSwitchProtocol.Request(true, false));
        Assert.Equal("jvpn_killswitch=on\n\n", KillSwitchProtocol.Request(true));
    }

    [Fact]
    public void A_refused_request_comes_back_as_its_message()
    {
        TunnelKillSwitch split = Create(new RecordingKillSwitch(), fullTunnel: false);

        string reply = KillSwitchProtocol.Handle("jvpn_killswitch=on", split)!;
        KillSwitchException e = Assert.Throws<KillSwitchException>(() => KillSwitchProtocol.Parse("jv0", reply));
        string noOs = KillSwitchProtocol.Handle("jvpn_killswitch=on", null)!;

        Assert.Contains($"errno={UapiErrno.Invalid}", reply, StringComparison.Ordinal);
        Assert.Contains("not a full tunnel", e.Message, StringComparison.Ordinal);
        Assert.Contains("no kill switch", Assert.Throws<KillSwitchException>(() => KillSwitchProtocol.Parse("jv0", noOs)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_wireguards_unknown_operation_answer_says_it_is_not_jvpn()
    {
        KillSwitchException e = Assert.Throws<KillSwitchException>(() => KillSwitchProtocol.Parse("wg0", "errno=-22\n\n"));

        Assert.Contains("not a jvpn interface", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lockdown_sentence_names_both_ways_out()
    {
        string text = new KillSwitchState("jv0", Running: false, Enabled: true, FullTunnel: null, Refused: 3).Describe();

        Assert.Contains("lockdown", text, StringComparison.Ordinal);
        Assert.Contains("'jvpn down jv0'", text, StringComparison.Ordinal);
        Assert.Contains("'jvpn killswitch jv0 off'", text, StringComparison.Ordinal);
    }
}
