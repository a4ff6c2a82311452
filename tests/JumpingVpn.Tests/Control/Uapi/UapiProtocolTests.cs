using System.Net;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;
using static JumpingVpn.Tests.Control.Uapi.UapiTestData;

namespace JumpingVpn.Tests.Control.Uapi;

public class UapiProtocolTests
{
    private static readonly string Zeros = new('0', 64);

    [Fact]
    public void FormatGetPrintsKeysInWireguardGoOrder()
    {
        string expected =
            $"private_key={Hex(CountingKey(0x80))}\n" +
            "listen_port=51820\n" +
            $"public_key={Hex(CountingKey(0x10))}\n" +
            $"preshared_key={Hex(Key(0x22))}\n" +
            "protocol_version=1\n" +
            "endpoint=192.0.2.7:51820\n" +
            "last_handshake_time_sec=1700000000\n" +
            "last_handshake_time_nsec=123456789\n" +
            "tx_bytes=2048\n" +
            "rx_bytes=1024\n" +
            "persistent_keepalive_interval=25\n" +
            "allowed_ip=10.0.0.2/32\n" +
            "allowed_ip=fd00::2/128\n" +
            $"public_key={Hex(CountingKey(0x40))}\n" +
            $"preshared_key={Zeros}\n" +
            "protocol_version=1\n" +
            "endpoint=[2001:db8::1]:443\n" +
            "last_handshake_time_sec=0\n" +
            "last_handshake_time_nsec=0\n" +
            "tx_bytes=0\n" +
            "rx_bytes=0\n" +
            "persistent_keepalive_interval=0\n" +
            "allowed_ip=0.0.0.0/0\n" +
            "errno=0\n" +
            "\n";

        Assert.Equal(expected, UapiProtocol.FormatGet(Device));
    }

    [Fact]
    public void FormatGetOmitsMissingPrivateKeyZeroPortAndZeroFwmark()
    {
        Assert.Equal("errno=0\n\n", UapiProtocol.FormatGet(new UapiDeviceSnapshot(null, 0, 0, [])));
        Assert.Equal("errno=0\n\n", UapiProtocol.FormatGet(new UapiDeviceSnapshot(Key(0), 0, 0, [])));
        Assert.Equal("listen_port=1\nfwmark=51\nerrno=0\n\n", UapiProtocol.FormatGet(new UapiDeviceSnapshot(null, 1, 51, [])));
    }

    [Fact]
    public void GetAnswerRoundTripsThroughTheParser()
    {
        string text = UapiProtocol.FormatGet(Device);

        Assert.True(UapiProtocol.TryParseGet(Lines(text), out UapiDeviceSnapshot parsed, out int errno, out string error), error);

        Assert.Equal(0, errno);
        Assert.Equal(text, UapiProtocol.FormatGet(parsed));
        Assert.Equal(CountingKey(0x80), parsed.PrivateKey);
        Assert.Equal(51820, parsed.ListenPort);
        Assert.Equal(2, parsed.Peers.Count);
        UapiPeerSnapshot a = parsed.Peers[0];
        Assert.Equal(PeerA.LastHandshakeUnixNs, a.LastHandshakeUnixNs);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 51820), a.Endpoint);
        Assert.Equal((2048UL, 1024UL, 25), (a.TxBytes, a.RxBytes, a.PersistentKeepaliveSeconds));
        Assert.Equal(PeerA.AllowedIps, a.AllowedIps);
        Assert.Null(parsed.Peers[1].PresharedKey); // all zeros on the wire = none
    }

    [Fact]
    public void ParseGetSkipsKeysItDoesNotKnow()
    {
        // Forks (amneziawg: jc, jmin, h1...) and future versions add keys; wg(8) ignores them too.
        string[] lines = ["listen_port=7", "jc=4", $"public_key={Hex(Key(1))}", "protocol_version=1", "some_future_key=x", "errno=0", ""];

        Assert.True(UapiProtocol.TryParseGet(lines, out UapiDeviceSnapshot parsed, out _, out string error), error);

        Assert.Equal(7, parsed.ListenPort);
        Assert.Single(parsed.Peers);
    }

    [Fact]
    public void ParseGetReportsTheRemoteErrno()
    {
        Assert.False(UapiProtocol.TryParseGet(["errno=-22", ""], out _, out int errno, out _));
        Assert.Equal(UapiErrno.Invalid, errno);
    }

    [Theory]
    [InlineData("listen_port=1")]                 // no errno line
    [InlineData("listen_port\nerrno=0")]          // no '='
    [InlineData("listen_port=x\nerrno=0")]
    [InlineData("public_key=abc\nerrno=0")]
    public void ParseGetRejectsMalformedAnswers(string answer)
    {
        Assert.False(UapiProtocol.TryParseGet(Lines(answer), out _, out int errno, out _));
        Assert.Equal(UapiErrno.Protocol, errno);
    }

    [Fact]
    public void ParseSetReadsWhatWgSetSends()
    {
        // Byte for byte what `wg set wg0 private-key K listen-port 51820 fwmark 0x10 peer P preshared-key S
        // endpoint [fd00::1]:5 persistent-keepalive 25 allowed-ips 10.9.0.0/24,fd00::/64` writes.
        string[] lines =
        [
            "set=1",
            $"private_key={Hex(Key(0x33))}",
            "listen_port=51820",
            "fwmark=16",
            "replace_peers=true",
            $"public_key={Hex(Key(0x44))}",
            $"preshared_key={Hex(Key(0x55))}",
            "endpoint=[fd00::1]:5",
            "persistent_keepalive_interval=25",
            "replace_allowed_ips=true",
            "allowed_ip=10.9.0.0/24",
            "allowed_ip=fd00::/64",
            $"public_key={Hex(Key(0x66))}",
            "remove=true",
            "",
            "listen_port=9", // after the blank line: not part of this request
        ];

        Assert.True(UapiProtocol.TryParseSet(lines, out UapiSetRequest req, out int errno, out string error), error);

        Assert.Equal(0, errno);
        Assert.Equal(Key(0x33), req.PrivateKey);
        Assert.Equal(51820, req.ListenPort);
        Assert.Equal(16u, req.FwMark);
        Assert.True(req.ReplacePeers);
        Assert.Equal(2, req.Peers.Count);
        UapiPeerChange p = req.Peers[0];
        Assert.Equal(Key(0x44), p.PublicKey);
        Assert.Equal(Key(0x55), p.PresharedKey);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("fd00::1"), 5), p.Endpoint);
        Assert.Equal(25, p.PersistentKeepaliveSeconds);
        Assert.True(p.ReplaceAllowedIps);
        Assert.Equal([IpPrefix.Parse("10.9.0.0/24"), IpPrefix.Parse("fd00::/64")], p.AllowedIps);
        Assert.False(p.Remove);
        Assert.True(req.Peers[1].Remove);
    }

    [Fact]
    public void ParseSetTurnsAllZeroPrivateKeyIntoRemovalAndKeepsZeroPresharedKey()
    {
        string[] lines = [$"private_key={Zeros}", $"public_key={Hex(Key(1))}", $"preshared_key={Zeros}", "update_only=true", "protocol_version=1"];

        Assert.True(UapiProtocol.TryParseSet(lines, out UapiSetRequest req, out _, out string error), error);

        Assert.NotNull(req.PrivateKey);
        Assert.Empty(req.PrivateKey);
        Assert.Equal(Key(0), req.Peers[0].PresharedKey);
        Assert.True(req.Peers[0].UpdateOnly);
        Assert.Null(req.ListenPort);
        Assert.Null(req.Peers[0].Endpoint);
        Assert.Null(req.Peers[0].PersistentKeepaliveSeconds);
    }

    [Fact]
    public void SetRequestRoundTripsThroughFormatAndParse()
    {
        var request = new UapiSetRequest { PrivateKey = [], ListenPort = 0, FwMark = 7, ReplacePeers = true };
        var peer = new UapiPeerChange(Key(9))
        {
            UpdateOnly = true,
            PresharedKey = Key(8),
            Endpoint = new IPEndPoint(IPAddress.Parse("198.51.100.1"), 65535),
            PersistentKeepaliveSeconds = 0,
            ReplaceAllowedIps = true,
        };
        peer.AllowedIps.Add(IpPrefix.Parse("::/0"));
        request.Peers.Add(peer);
        request.Peers.Add(new UapiPeerChange(Key(10)) { Remove = true });
        string text = UapiProtocol.FormatSet(request);

        Assert.True(UapiProtocol.TryParseSet(Lines(text), out UapiSetRequest parsed, out _, out string error), error);

        Assert.Equal(text, UapiProtocol.FormatSet(parsed));
        Assert.StartsWith($"set=1\nprivate_key={Zeros}\nlisten_port=0\nfwmark=7\nreplace_peers=true\n", text, StringComparison.Ordinal);
        Assert.EndsWith($"public_key={Hex(Key(10))}\nremove=true\n\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("listen_port", UapiErrno.Protocol)]                       // no '='
    [InlineData("bogus=1", UapiErrno.Invalid)]                            // unknown device key
    [InlineData("endpoint=1.2.3.4:5", UapiErrno.Invalid)]                 // peer key before any public_key
    [InlineData("private_key=zz", UapiErrno.Invalid)]
    [InlineData("listen_port=65536", UapiErrno.Invalid)]
    [InlineData("listen_port=-1", UapiErrno.Invalid)]
    [InlineData("fwmark=4294967296", UapiErrno.Invalid)]
    [InlineData("replace_peers=false", UapiErrno.Invalid)]
    [InlineData("public_key=0102", UapiErrno.Invalid)]
    [InlineData("PEER\nlisten_port=1", UapiErrno.Invalid)]                // device key after public_key
    [InlineData("PEER\nprotocol_version=2", UapiErrno.Invalid)]
    [InlineData("PEER\nremove=false", UapiErrno.Invalid)]
    [InlineData("PEER\nupdate_only=1", UapiErrno.Invalid)]
    [InlineData("PEER\nreplace_allowed_ips=yes", UapiErrno.Invalid)]
    [InlineData("PEER\npreshared_key=00", UapiErrno.Invalid)]
    [InlineData("PEER\nendpoint=fd00::1:5", UapiErrno.Invalid)]           // IPv6 needs brackets
    [InlineData("PEER\nendpoint=example.com:5", UapiErrno.Invalid)]       // names are resolved by wg, not here
    [InlineData("PEER\nendpoint=1.2.3.4", UapiErrno.Invalid)]
    [InlineData("PEER\npersistent_keepalive_interval=65536", UapiErrno.Invalid)]
    [InlineData("PEER\nallowed_ip=10.0.0.1", UapiErrno.Invalid)]          // the wire always has /len
    [InlineData("PEER\nallowed_ip=10.0.0.0/33", UapiErrno.Invalid)]
    [InlineData("PEER\nallowed_ip=fd00::/129", UapiErrno.Invalid)]
    [InlineData("PEER\nbogus=1", UapiErrno.Invalid)]
    public void ParseSetRejectsWhatWireguardGoRejects(string body, int expectedErrno)
    {
        string[] lines = Lines(body.Replace("PEER", $"public_key={Hex(Key(1))}", StringComparison.Ordinal));

        Assert.False(UapiProtocol.TryParseSet(lines, out _, out int errno, out string error));

        Assert.Equal(expectedErrno, errno);
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("127.0.0.1:5555", "127.0.0.1", 5555)]
    [InlineData("[fd00::1]:51820", "fd00::1", 51820)]
    [InlineData("[::ffff:192.0.2.1]:1", "::ffff:192.0.2.1", 1)]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0)]
    public void EndpointParsesAndFormatsBothFamilies(string text, string address, int port)
    {
        Assert.True(UapiEndpoint.TryParse(text, out IPEndPoint? endpoint));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endpoint);
        Assert.Equal(text, UapiEndpoint.Format(endpoint));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[1.2.3.4]:5")]
    [InlineData("[fd00::1]")]
    [InlineData("[fd00::1]:")]
    [InlineData("1.2.3.4:65536")]
    [InlineData("1.2.3.4:+5")]
    [InlineData(":5")]
    public void EndpointRejectsMalformedText(string text) => Assert.False(UapiEndpoint.TryParse(text, out _));

    [Fact]
    public void FormatResponseEndsWithErrnoAndBlankLine()
    {
        Assert.Equal("errno=-22\n\n", UapiProtocol.FormatResponse("", UapiErrno.Invalid));
        Assert.Equal("state=up\nerrno=0\n\n", UapiProtocol.FormatResponse("state=up", 0));
        Assert.True(UapiProtocol.TryReadErrno(["state=up", "errno=-98", ""], out int errno));
        Assert.Equal(UapiErrno.PortInUse, errno);
    }
}
