using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Ui.KillSwitch;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Tests.Ui;

/// <summary>The UI toggle (docs/platform.md §4.8) on a real Kestrel, with the control behind it faked.</summary>
public sealed class KillSwitchModuleTests
{
    private sealed class FakeControl : IKillSwitchControl
    {
        public bool On { get; private set; }

        public bool AllowLan { get; private set; }

        public List<string> Calls { get; } = [];

        public KillSwitchState Status(string tunnel)
        {
            Calls.Add("status " + tunnel);
            return new KillSwitchState(tunnel, true, On, true, On ? 2 : null) { AllowLan = AllowLan, Lan = AllowLan ? "192.168.1.0/24 on wlan0" : "" };
        }

        public KillSwitchState Set(string tunnel, bool on, bool? allowLan = null)
        {
            Calls.Add($"set {tunnel} {on}" + (allowLan is bool lan ? $" lan={lan}" : ""));
            AllowLan = allowLan ?? AllowLan;
            if (tunnel == "split")
            {
                throw new KillSwitchException("split is not a full tunnel");
            }
            On = on;
            return Status(tunnel);
        }
    }

    [Fact]
    public async Task Get_reads_and_post_switches_through_the_control()
    {
        var control = new FakeControl();
        await using UiTestClient ui = await UiTestClient.StartAsync(new KillSwitchModule(control));
        CancellationToken cancel = TestContext.Current.CancellationToken;

        using HttpResponseMessage post = await ui.Http.PostAsJsonAsync(new Uri("api/killswitch/jv0", UriKind.Relative), new { on = true }, cancel);
        using JsonDocument posted = JsonDocument.Parse(await post.Content.ReadAsStringAsync(cancel));
        using HttpResponseMessage get = await ui.Http.GetAsync(new Uri("api/killswitch/jv0", UriKind.Relative), cancel);
        using JsonDocument got = JsonDocument.Parse(await get.Content.ReadAsStringAsync(cancel));

        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.True(posted.RootElement.GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.True(got.RootElement.GetProperty("enabled").GetBoolean());
        Assert.False(got.RootElement.GetProperty("lockdown").GetBoolean());
        Assert.Equal(2, got.RootElement.GetProperty("refused").GetInt64());
        Assert.Contains("kill switch on", got.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(["set jv0 True", "status jv0", "status jv0"], control.Calls);
    }

    [Fact]
    public async Task Allow_lan_goes_with_on_and_comes_back_with_the_subnets()
    {
        var control = new FakeControl();
        await using UiTestClient ui = await UiTestClient.StartAsync(new KillSwitchModule(control));
        CancellationToken cancel = TestContext.Current.CancellationToken;

        using HttpResponseMessage lan = await ui.Http.PostAsJsonAsync(new Uri("api/killswitch/jv0", UriKind.Relative), new { on = true, allowLan = true }, cancel);
        using JsonDocument body = JsonDocument.Parse(await lan.Content.ReadAsStringAsync(cancel));
        using HttpResponseMessage offWithLan = await ui.Http.PostAsJsonAsync(new Uri("api/killswitch/jv0", UriKind.Relative), new { on = false, allowLan = true }, cancel);

        Assert.Equal(HttpStatusCode.OK, lan.StatusCode);
        Assert.True(body.RootElement.GetProperty("allowLan").GetBoolean());
        Assert.Equal("192.168.1.0/24 on wlan0", body.RootElement.GetProperty("lan").GetString());
        Assert.Contains("LAN allowed", body.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, offWithLan.StatusCode);
        Assert.Equal(["set jv0 True lan=True", "status jv0"], control.Calls);
    }

    [Fact]
    public async Task A_refusal_is_a_conflict_with_the_message()
    {
        await using UiTestClient ui = await UiTestClient.StartAsync(new KillSwitchModule(new FakeControl()));
        CancellationToken cancel = TestContext.Current.CancellationToken;

        using HttpResponseMessage r = await ui.Http.PostAsJsonAsync(new Uri("api/killswitch/split", UriKind.Relative), new { on = true }, cancel);
        using JsonDocument body = JsonDocument.Parse(await r.Content.ReadAsStringAsync(cancel));

        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        Assert.Equal("split is not a full tunnel", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_bad_name_or_body_is_a_bad_request_and_reaches_nothing()
    {
        var control = new FakeControl();
        await using UiTestClient ui = await UiTestClient.StartAsync(new KillSwitchModule(control));
        CancellationToken cancel = TestContext.Current.CancellationToken;

        using HttpResponseMessage badName = await ui.Http.GetAsync(new Uri("api/killswitch/" + new string('a', 16), UriKind.Relative), cancel);
        using HttpResponseMessage badBody = await ui.Http.PostAsJsonAsync(new Uri("api/killswitch/jv0", UriKind.Relative), new { enable = 1 }, cancel);

        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badBody.StatusCode);
        Assert.Empty(control.Calls);
    }

    /// <summary>The manager's own name rule (docs/ui.md "The manager"), not just the interface-name rule: `.` and `..`
    /// are no tunnel. (Over HTTP both are dot segments the client and Kestrel resolve away; the rule holds anyway.)</summary>
    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("wg/0")]
    public void A_name_the_manager_refuses_is_refused_here_too(string name)
    {
        var control = new FakeControl();

        IResult r = KillSwitchModule.Answer(name, () => control.Status(name));

        Assert.Equal(StatusCodes.Status400BadRequest, Assert.IsAssignableFrom<IStatusCodeHttpResult>(r).StatusCode);
        Assert.Contains("is not a valid tunnel name", Assert.IsAssignableFrom<IValueHttpResult>(r).Value?.ToString(), StringComparison.Ordinal);
        Assert.Empty(control.Calls);
    }
}
