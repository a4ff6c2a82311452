using JumpingVpn.Control.Uapi.Sessions;

namespace JumpingVpn.Tests.Control.Uapi;

/// <summary>The jvpn_sessions=1 request and reply text (docs/design.md §7 "Session listing"): round trips and refusals.</summary>
public sealed class SessionPageWireTests
{
    private static List<string> Body(string request)
    {
        string[] lines = request.Split('\n');
        Assert.Equal(SessionPageRequest.Operation, lines[0]);
        Assert.Equal("", lines[^1]);
        Assert.Equal("", lines[^2]); // the blank line that ends the request
        return [.. lines[1..^2]];
    }

    [Fact]
    public void A_request_round_trips()
    {
        var request = new SessionPageRequest { Search = "10.77.0.", Offset = 150, Limit = 50 };
        Assert.True(SessionPageRequest.TryParse(Body(request.Format()), out SessionPageRequest parsed, out string error), error);
        Assert.Equal(request, parsed);
        Assert.True(SessionPageRequest.TryParse([], out SessionPageRequest defaults, out _));
        Assert.Equal(new SessionPageRequest(), defaults);
        Assert.Equal(SessionPageRequest.DefaultLimit, defaults.Limit);
    }

    [Theory]
    [InlineData("offset=-1", "offset -1")]
    [InlineData("offset=10000001", "offset 10000001")]
    [InlineData("limit=0", "limit 0")]
    [InlineData("limit=501", "limit 501")]
    [InlineData("limit=many", "unexpected line")]
    [InlineData("sort=key", "unexpected line")]
    public void An_out_of_range_or_unknown_line_is_refused_naming_it(string line, string expected)
    {
        Assert.False(SessionPageRequest.TryParse([line], out _, out string error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_search_longer_than_the_limit_or_with_control_characters_is_refused()
    {
        Assert.False(SessionPageRequest.TryParse(["search=" + new string('a', 129)], out _, out string tooLong));
        Assert.Contains("129 characters", tooLong, StringComparison.Ordinal);
        Assert.True(SessionPageRequest.TryParse(["search=" + new string('a', 128)], out _, out _));
        Assert.False(SessionPageRequest.TryParse(["search=a\tb"], out _, out string control));
        Assert.Contains("control character", control, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SessionPageRequest { Search = "a\nget=1" }.Format());
    }

    [Fact]
    public void A_reply_round_trips_and_a_malformed_one_is_refused()
    {
        var reply = new SessionPageReply(100_000, 2, 0,
        [
            new SessionPageRow("aa", "0102", "ATTACHED", 7, "10.77.0.2/32,fd77::2/128", "198.51.100.1:5000", 1200, "node-a"),
            new SessionPageRow("bb", "0304", "RECOVERING", 9, "", "", -1, ""),
        ]);
        string wire = reply.Format() + "errno=0\n\n";
        Assert.True(SessionPageReply.TryParse(wire, out SessionPageReply? parsed));
        Assert.Equal(reply.Total, parsed!.Total);
        Assert.Equal(reply.Matched, parsed.Matched);
        Assert.Equal(reply.Rows, parsed.Rows);

        Assert.False(SessionPageReply.TryParse(reply.Format() + "errno=-22\n\n", out _));
        Assert.False(SessionPageReply.TryParse(wire.Replace("state_version=7", "state_version=x", StringComparison.Ordinal), out _));
        Assert.False(SessionPageReply.TryParse("errno=0\n\n", out _)); // no totals: not a listing
        Assert.True(SessionPageReply.TryParse(wire.Replace("owner_node=node-a", "owner_node=node-a\nfuture_key=1", StringComparison.Ordinal), out _));
    }
}
