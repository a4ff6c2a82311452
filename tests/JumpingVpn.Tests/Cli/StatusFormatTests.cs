using System.Net;
using System.Text.Json;
using JumpingVpn.Cli.Commands;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Tests.Cli;

public sealed class StatusFormatTests
{
    private static readonly byte[] KeyWithPlusAndSlash = Convert.FromBase64String("+/+/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");

    private static List<(string, UapiDeviceSnapshot)> Snapshot(long handshakeUnixNs) =>
    [
        ("jv0", new UapiDeviceSnapshot(null, 51820, 0,
        [
            new UapiPeerSnapshot(KeyWithPlusAndSlash, null, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 51820),
                handshakeUnixNs, 10, 20, 25, [IpPrefix.Parse("10.77.0.0/24")]),
        ])),
    ];

    [Fact]
    public void Json_keeps_base64_keys_literal_so_scripts_can_grep_them()
    {
        string json = StatusCommand.FormatJson(Snapshot(0), new Dictionary<string, Dictionary<string, long>?>(), 1000);
        Assert.Contains("\"+/+/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"", json, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement peer = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0];
        Assert.Equal(JsonValueKind.Null, peer.GetProperty("latest_handshake_age_seconds").ValueKind);
        Assert.Equal("192.0.2.1:51820", peer.GetProperty("endpoint").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("interfaces")[0].GetProperty("data_plane").ValueKind);
    }

    [Fact]
    public void Json_reports_handshake_age_from_the_given_clock()
    {
        string json = StatusCommand.FormatJson(Snapshot(900L * 1_000_000_000), new Dictionary<string, Dictionary<string, long>?>(), 1000);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement peer = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0];
        Assert.Equal(100, peer.GetProperty("latest_handshake_age_seconds").GetInt64());
        Assert.Equal(900, peer.GetProperty("latest_handshake_unix").GetInt64());
    }
}
