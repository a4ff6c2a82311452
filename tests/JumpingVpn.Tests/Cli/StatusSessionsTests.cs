using JumpingVpn.Cli.Commands;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Cli;

/// <summary>`jvpn status NAME --sessions`: the page as text and JSON, and one-line usage errors with exit code 2.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StatusSessionsTests
{
    private static CommandResult Jvpn(params string[] args) =>
        Command.TryRun("dotnet", [Path.Combine(AppContext.BaseDirectory, "jvpn.dll"), .. args]);

    private static readonly SessionPageReply Page = new(1234, 60, 50,
    [
        new SessionPageRow(new string('a', 64), "0123456789abcdef0123456789abcdef", "ATTACHED", 4, "10.77.0.9/32", "198.51.100.9:4000", 2500, "node-a"),
        new SessionPageRow(new string('b', 64), "fedcba9876543210fedcba9876543210", "RECOVERING", 7, "", "", -1, ""),
    ]);

    [Fact]
    public void Text_names_the_scope_the_page_each_row_and_how_to_get_the_next_page()
    {
        string text = StatusSessions.FormatText("wg0", Page, 2, "10.77");
        string[] lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal("interface: wg0: 60 of 1234 sessions match \"10.77\"; page 2 of 2 (rows 51-52)", lines[0]);
        Assert.Contains("qqqqqqqq", lines[2], StringComparison.Ordinal); // 0xaa.. in base64
        Assert.Contains("ATTACHED", lines[2], StringComparison.Ordinal);
        Assert.Contains("198.51.100.9:4000", lines[2], StringComparison.Ordinal);
        Assert.Contains("2.5 s", lines[2], StringComparison.Ordinal);
        Assert.Contains("never", lines[3], StringComparison.Ordinal);
        Assert.Equal(4, lines.Length); // the last page: no "next page" hint

        string first = StatusSessions.FormatText("wg0", Page with { Offset = 0 }, 1, "");
        Assert.StartsWith("interface: wg0: 1234 sessions; page 1 of 2", first, StringComparison.Ordinal);
        Assert.Contains("next page: jvpn status wg0 --sessions --page 2", first, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_has_the_totals_and_one_object_per_session()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(StatusSessions.FormatJson("wg0", Page, 2));
        Assert.Equal(1234, doc.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(60, doc.RootElement.GetProperty("matched").GetInt32());
        Assert.Equal(2, doc.RootElement.GetProperty("pages").GetInt32());
        System.Text.Json.JsonElement row = doc.RootElement.GetProperty("sessions")[0];
        Assert.Equal("node-a", row.GetProperty("owner_node").GetString());
        Assert.Equal(44, row.GetProperty("public_key").GetString()!.Length);
    }

    [Theory]
    [InlineData(new[] { "status", "--sessions" }, "needs the interface name")]
    [InlineData(new[] { "status", "wg9", "--sessions", "--page", "0" }, "pages count from 1")]
    [InlineData(new[] { "status", "wg9", "--search", "10.77" }, "add --sessions")]
    [InlineData(new[] { "status", "wg9", "--page", "2" }, "add --sessions")]
    public void Usage_mistakes_get_one_line_and_exit_code_2(string[] args, string message)
    {
        CommandResult r = Jvpn(args);
        Assert.Equal(2, r.ExitCode);
        string line = Assert.Single(r.StandardError.Trim().Split('\n'));
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_search_longer_than_the_limit_is_refused_before_asking_the_interface()
    {
        CommandResult r = Jvpn("status", "wg9", "--sessions", "--search", new string('x', 200));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("200 characters", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Sessions_of_an_interface_that_is_not_running_is_exit_code_5_without_a_stack_trace()
    {
        CommandResult r = Jvpn("status", "jvnosuch0", "--sessions");
        Assert.Equal(5, r.ExitCode);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
        Assert.Single(r.StandardError.Trim().Split('\n'));
    }
}
