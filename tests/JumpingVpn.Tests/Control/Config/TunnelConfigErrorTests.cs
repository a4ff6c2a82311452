using JumpingVpn.Control.Config;
using static JumpingVpn.Tests.Control.Config.ConfigSamples;

namespace JumpingVpn.Tests.Control.Config;

/// <summary>Every error names file, line and key, and says what is wrong.</summary>
public class TunnelConfigErrorTests
{
    private const string File = "/etc/wireguard/wg0.conf";

    private static ConfigException Fails(string text) =>
        Assert.Throws<ConfigException>(() => TunnelConfigParser.Parse(text, File, "wg0"));

    private static void AssertError(ConfigException e, int? line, string? key, string fragment)
    {
        Assert.Equal(File, e.File);
        Assert.Equal(line, e.Line);
        Assert.Equal(key, e.Key);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        string prefix = line is null ? File + ": " : $"{File}:{line}: ";
        Assert.StartsWith(key is null ? prefix : prefix + key + ": ", e.Message, StringComparison.Ordinal);
    }

    private static string Peer(string lines) => MinimalInterface + $"[Peer]\nPublicKey = {PeerA}\n" + lines;

    [Fact]
    public void MessageFormat()
    {
        ConfigException e = Fails(MinimalInterface + "ListenPort = 70000");

        Assert.Equal("/etc/wireguard/wg0.conf:3: ListenPort: `70000` is not a port number; use 1..65535, or 0 to pick a random port", e.Message);
        Assert.Equal(3, e.Line);
        Assert.Equal("ListenPort", e.Key);
    }

    [Fact]
    public void KeyBeforeAnySection() =>
        AssertError(Fails("# hi\nPrivateKey = " + PrivateKey), 2, "PrivateKey", "before any section");

    [Fact]
    public void UnknownInterfaceKey() =>
        AssertError(Fails(MinimalInterface + "Adress = 10.0.0.1/24"), 3, "Adress", "valid keys are PrivateKey, Address");

    [Fact]
    public void UnknownPeerKey() =>
        AssertError(Fails(Peer("Keepalive = 25")), 5, "Keepalive", "not a valid [Peer] key");

    [Fact]
    public void PeerKeyInInterfaceSaysWhereItBelongs() =>
        AssertError(Fails(MinimalInterface + "Endpoint = 192.0.2.1:51820"), 3, "Endpoint", "belongs in [Peer]");

    [Fact]
    public void InterfaceKeyInPeerSaysWhereItBelongs() =>
        AssertError(Fails(Peer("Address = 10.0.0.2/32")), 5, "Address", "belongs in [Interface]");

    [Fact]
    public void UnknownSection() =>
        AssertError(Fails(MinimalInterface + "[Peers]\n"), 3, null, "unknown section `[Peers]`");

    [Fact]
    public void LineWithoutEquals() =>
        AssertError(Fails(MinimalInterface + "ListenPort 51820"), 3, null, "not a `Key = Value` line");

    [Fact]
    public void MissingInterface() =>
        AssertError(Fails($"[Peer]\nPublicKey = {PeerA}"), null, null, "no [Interface] section");

    [Fact]
    public void MissingPrivateKey() =>
        AssertError(Fails("\n[Interface]\nListenPort = 1"), 2, "PrivateKey", "missing");

    [Fact]
    public void PeerWithoutPublicKey() =>
        AssertError(Fails(MinimalInterface + "\n[Peer]\nAllowedIPs = 10.0.0.2/32"), 4, "PublicKey", "missing in this [Peer]");

    [Fact]
    public void DuplicatePeerPublicKey() =>
        AssertError(Fails(Peer($"[Peer]\nAllowedIPs = 10.0.0.3/32\nPublicKey = {PeerA}")), 7, "PublicKey", "[Peer] at line 3");

    [Theory]
    [InlineData("PrivateKey", "abc", "wg genkey")]
    [InlineData("PrivateKey", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk", "wg genkey")] // padding missing
    [InlineData("PrivateKey", "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn=", "wg genkey")] // non-canonical last char
    public void BadPrivateKey(string key, string value, string tool)
    {
        ConfigException e = Fails($"[Interface]\n{key} = {value}");
        AssertError(e, 2, key, $"must be a 44-character base64 key as printed by `{tool}`");
        Assert.DoesNotContain(value, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadPublicKey() =>
        AssertError(Fails(MinimalInterface + "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg"), 4, "PublicKey", "as printed by `wg pubkey`");

    [Fact]
    public void BadPresharedKey() =>
        AssertError(Fails(Peer("PresharedKey = nope")), 5, "PresharedKey", "as printed by `wg genpsk`");

    [Theory]
    [InlineData("PrivateKey =")]
    [InlineData("ListenPort =")]
    [InlineData("FwMark = ")]
    public void EmptyWgValueIsAnErrorLikeWg(string line) =>
        AssertError(Fails(MinimalInterface + line), 3, line.Split(' ')[0], "has no value");

    [Theory]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData("http")]
    [InlineData("1e3")]
    public void BadListenPort(string value) =>
        AssertError(Fails(MinimalInterface + "ListenPort = " + value), 3, "ListenPort", "0 to pick a random port");

    [Theory]
    [InlineData("0x100000000")]
    [InlineData("4294967296")]
    [InlineData("mark")]
    public void BadFwMark(string value) =>
        AssertError(Fails(MinimalInterface + "FwMark = " + value), 3, "FwMark", "neither `off` nor a number");

    [Theory]
    [InlineData("10.0.0.1/33")]
    [InlineData("10.0.0/24")]
    [InlineData("10.0.0.256/24")]
    [InlineData("fd00::1/129")]
    [InlineData("10.0.0.1/")]
    [InlineData("vpn.example")]
    public void BadAddress(string value) =>
        AssertError(Fails(MinimalInterface + "Address = 10.9.9.9/32, " + value), 3, "Address", $"`{value}` is not an IP address");

    [Theory]
    [InlineData("1.2.3")]
    [InlineData("fd00:::1")]
    public void DnsEntryThatLooksLikeAnAddressMustBeOne(string value) =>
        AssertError(Fails(MinimalInterface + "DNS = " + value), 3, "DNS", "looks like an IP address");

    [Theory]
    [InlineData("abc")]
    [InlineData("575")]
    [InlineData("65536")]
    public void BadMtuIPv4(string value) =>
        AssertError(Fails(MinimalInterface + "Address = 10.0.0.1/24\nMTU = " + value), 4, "MTU", "576");

    [Fact]
    public void MtuBelow1280WithIPv6AddressSaysWhy() =>
        AssertError(Fails(MinimalInterface + "MTU = 1279\nAddress = 10.0.0.1/24, fd00::1/64"), 3, "MTU", "minimum for IPv6 (RFC 8200");

    [Theory]
    [InlineData("nope", "nope")]
    [InlineData("25s", "25s")]
    [InlineData("65536", "65536")]
    [InlineData("-1", "-1")]
    public void BadPersistentKeepalive(string value, string echoed) =>
        AssertError(Fails(Peer("PersistentKeepalive = " + value)), 5, "PersistentKeepalive", $"`{echoed}` is neither `off`");

    [Theory]
    [InlineData("192.0.2.1", "has no port")]
    [InlineData("192.0.2.1:", "has no port")]
    [InlineData("[2001:db8::1]", "has no port")]
    [InlineData("[2001:db8::1]:", "has no port")]
    [InlineData("[2001:db8::1:51820", "no `]`")]
    [InlineData("192.0.2.1:0", "not a number 1..65535")]
    [InlineData("192.0.2.1:65536", "not a number 1..65535")]
    [InlineData("192.0.2.1:wg", "not a number 1..65535")]
    [InlineData(":51820", "has no host")]
    [InlineData("bad/host:51820", "neither an IP address nor a host name")]
    public void BadEndpoint(string value, string fragment) =>
        AssertError(Fails(Peer("Endpoint = " + value)), 5, "Endpoint", fragment);

    [Theory]
    [InlineData("10.0.0.0/8,", "empty entry")]
    [InlineData("10.0.0.0/8,,10.1.0.0/16", "empty entry")]
    [InlineData("10.0.0.0/40", "`10.0.0.0/40` is not an IP address")]
    [InlineData("10.0.0.0/x", "is not an IP address")]
    [InlineData("10/8", "is not an IP address")]
    [InlineData("10.0.0.0/8 192.168.0.0/16", "is not an IP address")] // wg deletes the space: one bad entry
    public void BadAllowedIps(string value, string fragment) =>
        AssertError(Fails(Peer("AllowedIPs = " + value)), 5, "AllowedIPs", fragment);

    [Fact]
    public void EmptyAllowedIpsIsAnErrorLikeWg() =>
        AssertError(Fails(Peer("AllowedIPs =")), 5, "AllowedIPs", "has no value");

    [Fact]
    public void BadSaveConfig() =>
        AssertError(Fails(MinimalInterface + "SaveConfig = yes"), 3, "SaveConfig", "neither true nor false");

    [Fact]
    public void BadInterfaceNameForText()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.Parse(MinimalInterface, File, "this-name-is-too-long"));
        Assert.Contains("not a valid interface name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstErrorInFileOrderWins() =>
        AssertError(Fails(MinimalInterface + "ListenPort = x\nMTU = y"), 3, "ListenPort", "`x`");
}
