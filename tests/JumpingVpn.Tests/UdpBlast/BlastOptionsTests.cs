using System.Net;
using JumpingVpn.UdpBlast;

namespace JumpingVpn.Tests.UdpBlast;

/// <summary>jvpn-udpblast's command line (bench/throughput.sh's UDP GSO workload, docs/performance.md).</summary>
public sealed class BlastOptionsTests
{
    [Fact]
    public void Send_defaults_to_54_segments_of_1200_bytes_for_10_seconds()
    {
        Assert.True(BlastOptions.TryParse(["send", "--to", "10.77.0.1:5201"], out BlastOptions? o, out string? error), error);
        Assert.Equal(new BlastOptions(BlastMode.Send, IPEndPoint.Parse("10.77.0.1:5201"), 10, 1200, 54), o);
        Assert.True(o.SegmentSize * o.Segments <= BlastOptions.MaxGsoPayload);
    }

    [Fact]
    public void Recv_takes_a_bind_address_and_seconds()
    {
        Assert.True(BlastOptions.TryParse(["recv", "--bind", "[fd00::1]:9000", "--seconds", "2.5"], out BlastOptions? o, out string? error), error);
        Assert.Equal(BlastMode.Receive, o.Mode);
        Assert.Equal(IPEndPoint.Parse("[fd00::1]:9000"), o.Endpoint);
        Assert.Equal(2.5, o.Seconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("--help")]
    [InlineData("send --to 10.0.0.1:1 -h")]
    public void Help_is_not_an_error(string commandLine)
    {
        string[] args = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.False(BlastOptions.TryParse(args, out _, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData(new[] { "blast" }, "unknown mode 'blast'")]
    [InlineData(new[] { "send" }, "send needs --to ADDR:PORT")]
    [InlineData(new[] { "recv" }, "recv needs --bind ADDR:PORT")]
    [InlineData(new[] { "send", "--to", "10.0.0.1" }, "is not an ADDR:PORT")]
    [InlineData(new[] { "send", "--to", "10.0.0.1:0" }, "is not an ADDR:PORT")]
    [InlineData(new[] { "recv", "--to", "10.0.0.1:9" }, "unknown option '--to' for recv")]
    [InlineData(new[] { "send", "--to", "10.0.0.1:9", "--seconds", "0" }, "--seconds '0'")]
    [InlineData(new[] { "send", "--to", "10.0.0.1:9", "--segment", "1500" }, "--segment '1500' must be 1-1472")]
    [InlineData(new[] { "send", "--to", "10.0.0.1:9", "--segments", "65" }, "--segments '65' must be 1-64")]
    [InlineData(new[] { "send", "--to", "10.0.0.1:9", "--segment", "1400", "--segments", "64" }, "lower --segments to 46")]
    [InlineData(new[] { "send", "--to" }, "--to needs a value")]
    public void A_mistake_names_the_option_and_the_fix(string[] args, string expected)
    {
        Assert.False(BlastOptions.TryParse(args, out _, out string? error));
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_report_is_one_json_line_with_the_rate()
    {
        string json = new BlastReport("recv", 1000, 1_200_000, 0, 2).ToJson();
        Assert.Equal("{\"mode\":\"recv\",\"datagrams\":1000,\"bytes\":1200000,\"sends\":0,\"seconds\":2.000,\"pps\":500}", json);
        Assert.Equal(0, new BlastReport("recv", 1, 1200, 0, 0).PacketsPerSecond);
    }
}
