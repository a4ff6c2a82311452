using JumpingVpn.Control.Uapi.Sessions;

namespace JumpingVpn.Tests.Control.Uapi;

/// <summary>The jvpn_session=1 codec: the wire text released jvpn writes, and decoding it back.</summary>
public sealed class SessionStatusReplyTests
{
    private const string ClientKey = "fbffbf0000000000000000000000000000000000000000000000000000000000";
    private const string ServerKey = "e5e793e863280fdef4caed043e828cb69d20d7ab11bc91d6bfd78e218179f572";

    // The lines JumpingNode wrote before this codec existed (same as the reply in StatusFormatTests), paths and switches included.
    private const string Golden =
        "public_key=" + ServerKey + "\nrole=server\nsession_id=00112233445566778899aabbccddeeff\nstate=ATTACHED\n" +
        "state_version=7\nbound_at_version=5\nbound_endpoint=[2001:db8::1]:51820\nlast_reason=NAT_REBIND\nlast_transition_age_ms=0\nswitches=3\n" +
        "public_key=" + ClientKey + "\nrole=client\nsession_layer=on\nsession_id=00112233445566778899aabbccddeeff\n" +
        "state=ATTACHED\nstate_version=3\nbound_at_version=3\nbound_endpoint=192.0.2.1:51820\nlast_reason=PREFERRED_PATH_CHANGED\n" +
        "last_transition_age_ms=1200\nswitches=2\nrtt_ms=4\n" +
        "path=wifi0,192.168.1.2,active,alive,3.5,0.00,20,0\n" +
        "path=cell0,10.202.1.2,candidate,lossy,41.2,0.25,300,1\n" +
        "path=eth1,10.9.0.2,pending,unknown,-1,1.00,-1,2\n" +
        "path_switch=9000,wifi0,cell0,TRANSPORT_DEAD_RECOVERY,64\n" +
        "path_switch=2000,cell0,wifi0,PREFERRED_PATH_CHANGED,3\n" +
        "path_switches_last_minute=2\npath_suspect_episodes=3\n";

    private static readonly SessionStatusRecord Server = new()
    {
        PublicKeyHex = ServerKey,
        Role = "server",
        SessionId = "00112233445566778899aabbccddeeff",
        State = "ATTACHED",
        StateVersion = 7,
        BoundAtVersion = 5,
        BoundEndpoint = "[2001:db8::1]:51820",
        LastReason = "NAT_REBIND",
        LastTransitionAgeMs = 0,
        Switches = 3,
    };

    private static readonly SessionStatusRecord Client = new()
    {
        PublicKeyHex = ClientKey,
        Role = "client",
        SessionLayer = "on",
        SessionId = "00112233445566778899aabbccddeeff",
        State = "ATTACHED",
        StateVersion = 3,
        BoundAtVersion = 3,
        BoundEndpoint = "192.0.2.1:51820",
        LastReason = "PREFERRED_PATH_CHANGED",
        LastTransitionAgeMs = 1200,
        Switches = 2,
        RttMs = 4,
        Paths =
        [
            new PathStatus("wifi0", "192.168.1.2", "active", "alive", 3.5, 0, 20, 0),
            new PathStatus("cell0", "10.202.1.2", "candidate", "lossy", 41.2, 0.25, 300, 1),
            new PathStatus("eth1", "10.9.0.2", "pending", "unknown", -1, 1, -1, 2),
        ],
        RecentSwitches =
        [
            new PathSwitchStatus(9000, "wifi0", "cell0", "TRANSPORT_DEAD_RECOVERY", 64),
            new PathSwitchStatus(2000, "cell0", "wifi0", "PREFERRED_PATH_CHANGED", 3),
        ],
        SwitchesLastMinute = 2,
        SuspectEpisodes = 3,
    };

    [Fact]
    public void Encoding_matches_the_released_wire_text()
    {
        Assert.Equal(Golden, SessionStatusReply.Format([Server, Client]));
    }

    [Fact]
    public void Encoding_rounds_rtt_to_one_decimal_and_loss_to_two_as_before()
    {
        var record = Client with { Paths = [new PathStatus("wifi0", "192.168.1.2", "active", "alive", 3.4567, 0.123, 20, 0)], RecentSwitches = [] };
        Assert.Contains("\npath=wifi0,192.168.1.2,active,alive,3.5,0.12,20,0\n", SessionStatusReply.Format([record]), StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_then_decode_gives_the_same_records()
    {
        Assert.True(SessionStatusReply.TryParse(SessionStatusReply.Format([Server, Client]) + "errno=0\n\n", out var decoded));
        Assert.Equal(2, decoded.Count);
        Assert.Equivalent(Server, decoded[ServerKey], strict: true);
        Assert.Equivalent(Client, decoded[ClientKey], strict: true);
        Assert.Null(decoded[ServerKey].SessionLayer);
        Assert.Null(decoded[ServerKey].SwitchesLastMinute);
        Assert.Equal(Golden, SessionStatusReply.Format([decoded[ServerKey], decoded[ClientKey]]));
    }

    [Fact]
    public void Unknown_keys_from_a_newer_peer_are_ignored()
    {
        string reply = Golden.Replace("switches=3\n", "switches=3\nfuture_key=whatever\n", StringComparison.Ordinal)
            .Replace("path=eth1,10.9.0.2,pending,unknown,-1,1.00,-1,2\n", "path=eth1,10.9.0.2,pending,unknown,-1,1.00,-1,2,extra\n", StringComparison.Ordinal)
            + "another_new_key=1\nerrno=0\n\n";
        Assert.True(SessionStatusReply.TryParse(reply, out var decoded));
        Assert.Equivalent(Server, decoded[ServerKey], strict: true);
        Assert.Equivalent(Client, decoded[ClientKey], strict: true);
    }

    [Theory]
    [InlineData("state_version=7\n", "state_version=seven\n")]
    [InlineData("switches=2\n", "switches=-\n")]
    [InlineData("rtt_ms=4\n", "rtt_ms=4.5\n")]
    [InlineData("path=wifi0,192.168.1.2,active,alive,3.5,0.00,20,0\n", "path=wifi0,192.168.1.2,active,alive,3.5\n")]
    [InlineData("path=wifi0,192.168.1.2,active,alive,3.5,0.00,20,0\n", "path=wifi0,192.168.1.2,active,alive,fast,0.00,20,0\n")]
    [InlineData("path_switch=9000,wifi0,cell0,TRANSPORT_DEAD_RECOVERY,64\n", "path_switch=9000,wifi0,cell0\n")]
    [InlineData("path_switches_last_minute=2\n", "path_switches_last_minute=99999999999\n")]
    [InlineData("path_suspect_episodes=3\n", "path_suspect_episodes=\n")]
    public void Malformed_values_refuse_the_reply_without_throwing(string line, string malformed)
    {
        Assert.Contains(line, Golden, StringComparison.Ordinal);
        Assert.False(SessionStatusReply.TryParse(Golden.Replace(line, malformed, StringComparison.Ordinal) + "errno=0\n\n", out var decoded));
        Assert.Empty(decoded);
    }

    [Fact]
    public void A_reply_without_errno_zero_is_refused()
    {
        Assert.False(SessionStatusReply.TryParse("errno=-22\n\n", out var failed));
        Assert.Empty(failed);
        Assert.False(SessionStatusReply.TryParse(Golden, out _)); // cut off before errno
        Assert.True(SessionStatusReply.TryParse("errno=0\n\n", out var none));
        Assert.Empty(none);
    }
}
