using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tests.Architecture;
using JumpingVpn.Ui.Tunnel.Timeline;

namespace JumpingVpn.Tests.Ui.Tunnel;

/// <summary>
/// The handover timeline's recorder on a manual clock (docs/ui.md "Timeline"): which link carried the tunnel, RTT
/// and loss per link, rates from the transfer counters, switch markers from the daemon's recent switches (each
/// once), the 5-minute window and the memory bound.
/// </summary>
public sealed class TimelineRecorderTests
{
    private static readonly System.Text.Json.JsonSerializerOptions WebJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    private readonly ManualTimeProvider _time = new();

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static PathStatus Path(string name, string role, double rtt, double loss = 0, string state = "alive") =>
        new(name, "192.0.2.1", role, state, rtt, loss, 10, 0);

    private static TimelineInput Reading(ulong rx, ulong tx, PathStatus[] paths, params PathSwitchStatus[] switches) =>
        new(rx, tx, paths, switches);

    private void Tick() => _time.Advance(TimeSpan.FromSeconds(1));

    [Fact]
    public void Lanes_follow_the_active_path_and_rtt_is_kept_per_link()
    {
        var r = new TimelineRecorder(_time);
        long start = NowMs;
        r.Record(Reading(0, 0, [Path("wlan0", "active", 20), Path("cell0", "candidate", 60)]));
        Tick();
        r.Record(Reading(0, 0, [Path("wlan0", "active", 25), Path("cell0", "pending", 61)]));
        Tick();
        r.Record(Reading(0, 0, [Path("wlan0", "candidate", -1, 1, "dead"), Path("cell0", "active", 58)]));

        TimelineSeries s = r.Read(0);

        Assert.Equal([start, start + 1000, start + 2000], s.T);
        Assert.Equal(["wlan0", "cell0"], s.Links.Select(l => l.Name));
        Assert.Equal([0, 0, 1], s.ActiveLink);
        Assert.Equal([20.0, 25.0, null], s.Links[0].RttMs);
        Assert.Equal([60.0, 61.0, 58.0], s.Links[1].RttMs);
        Assert.Equal([0.0, 0.0, 1.0], s.Links[0].Loss);
        Assert.Equal(300_000, s.WindowMs);
        Assert.Equal(1000, s.IntervalMs);
    }

    [Fact]
    public void Rates_come_from_counter_deltas_and_a_counter_reset_gives_no_rate()
    {
        var r = new TimelineRecorder(_time);
        r.Record(Reading(1_000, 500, []));
        Tick();
        r.Record(Reading(126_000, 2_500, []));
        _time.Advance(TimeSpan.FromSeconds(2));
        r.Record(Reading(326_000, 2_500, []));
        Tick();
        r.Record(Reading(10, 10, [])); // the interface restarted: counters from zero

        TimelineSeries s = r.Read(0);

        Assert.Equal([null, 125_000.0, 100_000.0, null], s.RxBps);
        Assert.Equal([null, 2_000.0, 0.0, null], s.TxBps);
    }

    [Fact]
    public void A_switch_reported_again_by_later_readings_is_one_marker_at_the_time_it_happened()
    {
        var r = new TimelineRecorder(_time);
        r.Record(Reading(0, 0, [Path("wlan0", "active", 20)]));
        long switchedAt = NowMs + 400;
        Tick();
        var sw = new PathSwitchStatus(600, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 1160);
        r.Record(Reading(0, 0, [Path("cell0", "active", 58)], sw));
        for (int i = 1; i <= 5; i++)
        {
            Tick();
            // The daemon keeps reporting the switch with a growing age (and a few ms of read jitter).
            r.Record(Reading(0, 0, [Path("cell0", "active", 58)], sw with { AgeMs = 600 + (i * 1000) + (i % 2 == 0 ? 3 : -2) }));
        }

        TimelineSwitch only = Assert.Single(r.Switches());
        Assert.Equal(switchedAt, only.AtMs);
        Assert.Equal("wlan0 lost → moved to cell0 in 1160 ms", only.Text);
        Assert.Equal(1160, only.GapMs);
        Assert.Equal(switchedAt, Assert.Single(r.Read(0).Switches).AtMs);
        Assert.Empty(r.Read(switchedAt).Switches); // ?since= returns only what is newer
        Assert.Single(r.Read(switchedAt - 1).Switches);
    }

    [Fact]
    public void Two_switches_between_the_same_links_a_minute_apart_are_two_markers()
    {
        var r = new TimelineRecorder(_time);
        r.Record(Reading(0, 0, [], new PathSwitchStatus(100, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 900)));
        _time.Advance(TimeSpan.FromMinutes(1));
        r.Record(Reading(0, 0, [],
            new PathSwitchStatus(60_100, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 900),
            new PathSwitchStatus(100, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 900)));

        Assert.Equal(2, r.Switches().Count);
    }

    [Fact]
    public void Since_returns_only_newer_samples()
    {
        var r = new TimelineRecorder(_time);
        r.Record(Reading(0, 0, [Path("wlan0", "active", 20)]));
        long first = NowMs;
        Tick();
        r.Record(Reading(0, 0, [Path("wlan0", "active", 21)]));

        TimelineSeries s = r.Read(first);

        Assert.Equal([first + 1000], s.T);
        Assert.Equal([21.0], Assert.Single(s.Links).RttMs);
        Assert.Equal([0], s.ActiveLink);
    }

    [Fact]
    public void Samples_switches_and_links_older_than_five_minutes_are_forgotten()
    {
        var r = new TimelineRecorder(_time);
        r.Record(Reading(0, 0, [Path("wlan0", "active", 20)], new PathSwitchStatus(0, "eth0", "wlan0", "PREFERRED_PATH_CHANGED", 0)));
        for (int i = 0; i < 299; i++)
        {
            Tick();
            r.Record(Reading(0, 0, [Path("cell0", "active", 50)]));
        }
        Assert.Equal(300, r.SampleCount);
        Assert.Equal(["wlan0", "cell0"], r.Read(0).Links.Select(l => l.Name));

        Tick();
        r.Record(Reading(0, 0, [Path("cell0", "active", 50)]));

        TimelineSeries s = r.Read(0);
        Assert.Equal(300, s.T.Length);
        Assert.True(s.T[0] > NowMs - 300_000);
        Assert.Equal(["cell0"], s.Links.Select(l => l.Name)); // wlan0 has no sample left in the window
        Assert.Empty(s.Switches);
    }

    [Fact]
    public void Memory_stays_bounded_when_readings_come_faster_than_the_interval_and_links_churn()
    {
        var r = new TimelineRecorder(_time);
        for (int i = 0; i < 20 * 600; i++)
        {
            // 20 minutes of a reading every 100 ms (sampler plus several open pages), a new interface name every
            // reading, and the daemon's 8 recent switches with fresh ages each time.
            _time.Advance(TimeSpan.FromMilliseconds(100));
            var switches = new PathSwitchStatus[8];
            for (int k = 0; k < 8; k++)
            {
                switches[k] = new PathSwitchStatus(k * 10, "if" + (i % 50), "if" + ((i + 1) % 50), "LOSS_RECOVERY", i + k);
            }
            r.Record(Reading((ulong)i, (ulong)i, [Path("if" + (i % 50), "active", 10), Path("eth" + i, "candidate", 10)], switches));
            Assert.True(r.SampleCount <= r.Capacity);
        }

        TimelineSeries s = r.Read(0);
        Assert.Equal(602, r.Capacity); // 300 s / 0.5 s, plus two slots of slack
        Assert.InRange(s.T.Length, 599, 601);
        Assert.True(s.Links.Count <= TimelineRecorder.MaxLinks);
        Assert.True(s.Switches.Count <= TimelineRecorder.MaxSwitches);
        for (int i = 1; i < s.T.Length; i++)
        {
            Assert.True(s.T[i] - s.T[i - 1] >= 500, "samples closer than half an interval are not kept");
        }
    }

    [Fact]
    public void A_ninth_link_is_not_drawn_while_eight_are_in_the_window()
    {
        var r = new TimelineRecorder(_time);
        var paths = new PathStatus[9];
        for (int i = 0; i < 9; i++)
        {
            paths[i] = Path("if" + i, i == 8 ? "active" : "candidate", 10 + i);
        }
        r.Record(Reading(0, 0, paths));

        TimelineSeries s = r.Read(0);

        Assert.Equal(TimelineRecorder.MaxLinks, s.Links.Count);
        Assert.DoesNotContain("if8", s.Links.Select(l => l.Name));
        Assert.Equal([-1], s.ActiveLink);
    }

    [Fact]
    public void Five_minutes_of_three_links_are_a_few_tens_of_kilobytes_of_json()
    {
        var r = new TimelineRecorder(_time);
        for (int i = 0; i < 300; i++)
        {
            Tick();
            r.Record(Reading((ulong)i * 123_457, (ulong)i * 7_919,
                [Path("wlan0", i % 60 < 30 ? "active" : "candidate", 23.4 + (i % 7)), Path("cell0", i % 60 < 30 ? "candidate" : "active", 61.2 + (i % 5), 0.013), Path("eth0", "candidate", 2.1)],
                new PathSwitchStatus(0, "wlan0", "cell0", "TRANSPORT_DEAD_RECOVERY", 900 + i)));
        }

        string json = System.Text.Json.JsonSerializer.Serialize(r.Read(0), WebJson);

        TestContext.Current.TestOutputHelper?.WriteLine($"full window, 3 links, 64 switches: {json.Length} bytes of JSON");
        Assert.Equal(300, r.Read(0).T.Length);
        Assert.InRange(json.Length, 10_000, 48 * 1024);
    }

    [Fact]
    public void The_recorder_reads_no_clock_of_its_own()
    {
        // Sans-I/O (docs/ui.md "Timeline"): time only from the injected TimeProvider, no sockets or threads.
        string ui = System.IO.Path.Combine(AppContext.BaseDirectory, "JumpingVpn.Ui.dll");
        List<string> violations = PureCoreRules.Violations(ui, owner => owner.StartsWith("JumpingVpn.Ui.Tunnel.Timeline.", StringComparison.Ordinal));
        Assert.Empty(violations);
        Assert.NotEmpty(JumpingVpn.Tests.Architecture.IlReferences.Scan(ui, owner => owner == typeof(TimelineRecorder).FullName));
    }
}
