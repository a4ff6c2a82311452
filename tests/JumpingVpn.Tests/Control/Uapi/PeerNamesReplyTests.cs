using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;

namespace JumpingVpn.Tests.Control.Uapi;

public sealed class PeerNamesReplyTests
{
    private const string KeyA = "0101010101010101010101010101010101010101010101010101010101010101";
    private const string KeyB = "abababababababababababababababababababababababababababababababab";

    [Fact]
    public void Names_survive_the_wire_including_spaces_and_equals_signs()
    {
        string payload = PeerNamesReply.Format([new(KeyA, "laptop"), new(KeyB, "Anna's phone = work")]);
        string reply = UapiProtocol.FormatResponse(payload, UapiErrno.None);

        Assert.True(PeerNamesReply.TryParse(reply, out Dictionary<string, string> names));
        Assert.Equal("laptop", names[KeyA]);
        Assert.Equal("Anna's phone = work", names[KeyB]);
    }

    [Fact]
    public void A_refused_or_malformed_reply_has_no_names()
    {
        Assert.False(PeerNamesReply.TryParse("errno=-22\n\n", out Dictionary<string, string> refused));
        Assert.Empty(refused);
        Assert.False(PeerNamesReply.TryParse("name=orphan\nerrno=0\n\n", out Dictionary<string, string> orphan));
        Assert.Empty(orphan);
        Assert.True(PeerNamesReply.TryParse("public_key=" + KeyA + "\nfuture_key=1\nname=laptop\nerrno=0\n\n", out Dictionary<string, string> newer));
        Assert.Equal("laptop", newer[KeyA]);
    }

    [Fact]
    public void A_set_request_carries_the_key_in_hex_and_refuses_unusable_names()
    {
        string request = PeerNamesReply.SetRequest(Convert.FromHexString(KeyB), "tablet");
        string[] lines = request.Split('\n');
        Assert.Equal(PeerNamesReply.SetOperation, lines[0]);

        Assert.True(PeerNamesReply.TryParseSet(lines[1..], out string key, out string name));
        Assert.Equal((KeyB, "tablet"), (key, name));
        Assert.False(PeerNamesReply.TryParseSet(["public_key=" + KeyB, "name="], out _, out _));
        Assert.False(PeerNamesReply.TryParseSet(["public_key=" + KeyB, "name=a\tb"], out _, out _));
        Assert.False(PeerNamesReply.TryParseSet(["public_key=" + KeyB, "name=" + new string('x', PeerNamesReply.MaxNameLength + 1)], out _, out _));
        Assert.False(PeerNamesReply.TryParseSet(["public_key=zz" + KeyB[2..], "name=tablet"], out _, out _));
        Assert.False(PeerNamesReply.TryParseSet(["name=tablet"], out _, out _));
    }
}
