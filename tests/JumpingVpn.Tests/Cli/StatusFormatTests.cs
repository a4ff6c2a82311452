using System.Net;
using System.Text.Json;
using JumpingVpn.Cli.Commands;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
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

    [Fact]
    public void Client_paths_and_switches_appear_in_json_and_text()
    {
        string key = Convert.ToHexStringLower(KeyWithPlusAndSlash);
        string reply = $"public_key={key}\nrole=client\nsession_layer=on\nsession_id=00112233445566778899aabbccddeeff\n" +
            "state=ATTACHED\nstate_version=3\nbound_at_version=3\nbound_endpoint=192.0.2.1:51820\nlast_reason=PREFERRED_PATH_CHANGED\n" +
            "last_transition_age_ms=1200\nswitches=2\nrtt_ms=4\n" +
            "path=wifi0,192.168.1.2,active,alive,3.5,0.00,20,0\n" +
            "path=cell0,10.202.1.2,candidate,lossy,41.2,0.25,300,1\n" +
            "path_switch=9000,wifi0,cell0,TRANSPORT_DEAD_RECOVERY,64\n" +
            "path_switch=2000,cell0,wifi0,PREFERRED_PATH_CHANGED,3\n" +
            "path_switches_last_minute=2\npath_suspect_episodes=3\nerrno=0\n\n";
        var sessions = new Dictionary<string, Dictionary<string, SessionStatusRecord>> { ["jv0"] = StatusCommand.ParseSessions(reply) };

        string json = StatusCommand.FormatJson(Snapshot(0), new Dictionary<string, Dictionary<string, long>?>(), 1000, sessions);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement session = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0].GetProperty("session");
        JsonElement paths = session.GetProperty("paths");
        Assert.Equal(2, paths.GetArrayLength());
        Assert.Equal(("wifi0", "active", "alive", 3.5), (paths[0].GetProperty("interface").GetString(), paths[0].GetProperty("role").GetString(),
            paths[0].GetProperty("state").GetString(), paths[0].GetProperty("rtt_ms").GetDouble()));
        Assert.Equal(0.25, paths[1].GetProperty("loss").GetDouble());
        JsonElement switches = session.GetProperty("recent_switches");
        Assert.Equal(2, switches.GetArrayLength());
        Assert.Equal(("wifi0", "cell0", "TRANSPORT_DEAD_RECOVERY", 64L), (switches[0].GetProperty("from").GetString(), switches[0].GetProperty("to").GetString(),
            switches[0].GetProperty("reason").GetString(), switches[0].GetProperty("gap_ms").GetInt64()));
        Assert.Equal(2, session.GetProperty("switches_last_minute").GetInt32());
        Assert.Equal(3, session.GetProperty("suspect_episodes").GetInt64());

        string text = StatusCommand.FormatText(Snapshot(0), 1000, sessions);
        Assert.Contains("* wifi0", text, StringComparison.Ordinal);
        Assert.Contains("cell0        10.202.1.2       candidate lossy", text, StringComparison.Ordinal);
        Assert.Contains("wifi0 -> cell0  TRANSPORT_DEAD_RECOVERY  gap 64 ms", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_named_peer_shows_its_name_in_json_and_text_and_an_unnamed_one_null()
    {
        var names = new Dictionary<string, Dictionary<string, string>> { ["jv0"] = new() { [Convert.ToHexStringLower(KeyWithPlusAndSlash)] = "laptop" } };
        var noSessions = new Dictionary<string, Dictionary<string, SessionStatusRecord>>();

        using (JsonDocument doc = JsonDocument.Parse(StatusCommand.FormatJson(Snapshot(0), new Dictionary<string, Dictionary<string, long>?>(), 1000, noSessions, names)))
        {
            Assert.Equal("laptop", doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0].GetProperty("name").GetString());
        }
        using (JsonDocument doc = JsonDocument.Parse(StatusCommand.FormatJson(Snapshot(0), new Dictionary<string, Dictionary<string, long>?>(), 1000)))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0].GetProperty("name").ValueKind);
        }
        Assert.Contains("\npeer: +/+/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n  name: laptop\n", StatusCommand.FormatText(Snapshot(0), 1000, noSessions, names), StringComparison.Ordinal);
        Assert.DoesNotContain("name:", StatusCommand.FormatText(Snapshot(0), 1000), StringComparison.Ordinal);
    }
}
