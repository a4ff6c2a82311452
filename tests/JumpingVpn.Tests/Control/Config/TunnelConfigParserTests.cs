using System.Net;
using JumpingVpn.Control.Config;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;
using static JumpingVpn.Tests.Control.Config.ConfigSamples;

namespace JumpingVpn.Tests.Control.Config;

public class TunnelConfigParserTests
{
    private static TunnelConfig Parse(string text) => TunnelConfigParser.Parse(text, "wg0.conf", "wg0");

    private static byte[] Key(string b64) => Convert.FromBase64String(b64);

    [Fact]
    public void WgQuickClientExampleParses()
    {
        TunnelConfig c = Parse(Client);

        Assert.Equal("wg0", c.InterfaceName);
        Assert.Equal("wg0.conf", c.SourcePath);
        Assert.Equal(Key("oK56DE9Ue9zK76rAc8pBl6opph+1v36lm7cXXsQKrQM="), c.Interface.PrivateKey);
        Assert.Equal([new InterfaceAddress(IPAddress.Parse("10.200.100.8"), 24)], c.Interface.Addresses);
        Assert.Equal([IPAddress.Parse("10.200.100.1")], c.Interface.DnsServers);
        Assert.Empty(c.Interface.DnsSearch);
        Assert.Null(c.Interface.ListenPort);
        Assert.Null(c.Interface.Mtu);
        PeerSection p = Assert.Single(c.Peers);
        Assert.Equal(Key("GtL7fZc/bLnqZldpVofMCD6hDjrK28SsdLxevJ+qtKU="), p.PublicKey);
        Assert.Equal(Key(Psk), p.PresharedKey);
        Assert.Equal([IpPrefix.Parse("0.0.0.0/0")], p.AllowedIps);
        Assert.Equal(new ConfigEndpoint("demo.wireguard.com", 51820, isLiteral: false), p.Endpoint);
        Assert.Null(p.PersistentKeepalive);
        Assert.Equal(6, p.Line);
        Assert.Empty(c.Warnings);
        Assert.Empty(c.Jumping);
    }

    [Fact]
    public void WgServerExampleParses()
    {
        TunnelConfig c = Parse(Server);

        Assert.Equal(Key(PrivateKey), c.Interface.PrivateKey);
        Assert.Equal(51820, c.Interface.ListenPort);
        Assert.Equal(3, c.Peers.Count);
        Assert.Equal(Key(PeerA), c.Peers[0].PublicKey);
        Assert.Equal(new ConfigEndpoint("192.95.5.67", 1234, isLiteral: true), c.Peers[0].Endpoint);
        Assert.Equal([IpPrefix.Parse("10.192.122.3/32"), IpPrefix.Parse("10.192.124.0/24")], c.Peers[0].AllowedIps);
        Assert.Equal(new ConfigEndpoint("2607:5300:60:6b0::c05f:543", 2468, isLiteral: true), c.Peers[1].Endpoint);
        Assert.Equal(new ConfigEndpoint("test.wireguard.com", 18981, isLiteral: false), c.Peers[2].Endpoint);
        Assert.Equal([5, 10, 15], [c.Peers[0].Line, c.Peers[1].Line, c.Peers[2].Line]);
    }

    [Fact]
    public void AllowedIpWithHostBitsIsMaskedWithAWarningLikeWg()
    {
        TunnelConfig c = Parse(Server);

        string w = Assert.Single(c.Warnings);
        Assert.Equal("wg0.conf:8: AllowedIPs: `10.192.124.1/24` has host bits set; using 10.192.124.0/24", w);
    }

    [Fact]
    public void InterfaceAddressKeepsHostBits()
    {
        TunnelConfig c = Parse(MinimalInterface + "Address = 10.0.0.2/24, fd00::2/64, 10.0.0.3");

        Assert.Equal(
            [new InterfaceAddress(IPAddress.Parse("10.0.0.2"), 24), new InterfaceAddress(IPAddress.Parse("fd00::2"), 64), new InterfaceAddress(IPAddress.Parse("10.0.0.3"), 32)],
            c.Interface.Addresses);
        Assert.Equal(IpPrefix.Parse("10.0.0.0/24"), c.Interface.Addresses[0].Network);
    }

    [Fact]
    public void SectionsAndKeysAreCaseInsensitive()
    {
        TunnelConfig c = Parse($"""
            [INTERFACE]
            privatekey = {PrivateKey}
            LISTENPORT = 1234
            address = 10.0.0.1/24
            dns = 1.1.1.1
            mtu = 1400
            [peer]
            PUBLICKEY = {PeerA}
            allowedips = 10.0.0.2/32
            ENDPOINT = 192.0.2.1:51820
            persistentKEEPALIVE = 25
            """);

        Assert.Equal(1234, c.Interface.ListenPort);
        Assert.Equal(1400, c.Interface.Mtu);
        Assert.Single(c.Interface.Addresses);
        Assert.Single(c.Interface.DnsServers);
        Assert.Equal(25, Assert.Single(c.Peers).PersistentKeepalive);
    }

    [Fact]
    public void CommentsAnywhereOnALineAndBlankLinesAreIgnored()
    {
        TunnelConfig c = Parse($"""
            # leading comment
                 
            [Interface] # the interface
            PrivateKey = {PrivateKey}   # secret
            ListenPort = 51820#no space
            	
            [Peer]#peer one
            PublicKey = {PeerA}
            #AllowedIPs = 10.9.9.9/32
            AllowedIPs = 10.0.0.2/32 # only this
            """);

        Assert.Equal(51820, c.Interface.ListenPort);
        Assert.Equal([IpPrefix.Parse("10.0.0.2/32")], Assert.Single(c.Peers).AllowedIps);
    }

    [Fact]
    public void WhitespaceAroundEqualsAndCrLfLineEndings()
    {
        TunnelConfig c = Parse($"[Interface]\r\nPrivateKey={PrivateKey}\r\n\tListenPort\t=\t7\t\r\n");

        Assert.Equal(7, c.Interface.ListenPort);
    }

    [Fact]
    public void WgKeysIgnoreWhitespaceInsideTheLineLikeWg()
    {
        // wg(8) deletes every space from a line before matching, so this is what wg-quick accepts.
        TunnelConfig c = Parse($"[Interface]\nPrivate Key = {PrivateKey}\nListen Port = 51 820\n[Peer]\nPublicKey={PeerA}\nAllowedIPs = 10.0.0.1 / 32 ,10.0.0.2/32");

        Assert.Equal(51820, c.Interface.ListenPort);
        Assert.Equal(2, c.Peers[0].AllowedIps.Count);
    }

    [Fact]
    public void RepeatedListKeysAccumulate()
    {
        TunnelConfig c = Parse(MinimalInterface + $"""
            Address = 10.0.0.1/24
            Address = fd00::1/64, 10.0.1.1/24
            DNS = 1.1.1.1, 8.8.8.8
            DNS = 2606:4700:4700::1111
            PostUp = iptables -A FORWARD -i %i -j ACCEPT
            PostUp = echo up
            PreUp = echo pre
            PreDown = echo predown
            PostDown = iptables -D FORWARD -i %i -j ACCEPT
            [Peer]
            PublicKey = {PeerA}
            AllowedIPs = 10.0.0.2/32
            AllowedIPs = fd00::2/128, 192.168.0.0/16
            """);

        Assert.Equal(3, c.Interface.Addresses.Count);
        Assert.Equal(3, c.Interface.DnsServers.Count);
        Assert.Equal(["iptables -A FORWARD -i %i -j ACCEPT", "echo up"], c.Interface.PostUp);
        Assert.Equal(["echo pre"], c.Interface.PreUp);
        Assert.Equal(["echo predown"], c.Interface.PreDown);
        Assert.Equal(["iptables -D FORWARD -i %i -j ACCEPT"], c.Interface.PostDown);
        Assert.Equal(3, c.Peers[0].AllowedIps.Count);
    }

    [Fact]
    public void RepeatedScalarKeysKeepTheLastValueLikeWg()
    {
        TunnelConfig c = Parse(MinimalInterface + "ListenPort = 1\nListenPort = 2\nMTU = 1300\nMTU = 1420");

        Assert.Equal(2, c.Interface.ListenPort);
        Assert.Equal(1420, c.Interface.Mtu);
    }

    [Fact]
    public void AddressAndDnsAlsoSplitOnSpacesLikeWgQuick()
    {
        TunnelConfig c = Parse(MinimalInterface + "Address = 10.0.0.1/24 fd00::1/64\nDNS = 1.1.1.1 8.8.8.8");

        Assert.Equal(2, c.Interface.Addresses.Count);
        Assert.Equal(2, c.Interface.DnsServers.Count);
    }

    [Fact]
    public void DnsEntriesThatAreNotAddressesAreSearchDomains()
    {
        TunnelConfig c = Parse(MinimalInterface + "DNS = 10.0.0.1, corp.example, fd00::53, lan");

        Assert.Equal([IPAddress.Parse("10.0.0.1"), IPAddress.Parse("fd00::53")], c.Interface.DnsServers);
        Assert.Equal(["corp.example", "lan"], c.Interface.DnsSearch);
    }

    [Fact]
    public void WgQuickOnlyKeysAreStored()
    {
        TunnelConfig c = Parse(MinimalInterface + "Table = off\nSaveConfig = TRUE\nFwMark = 0x1234");

        Assert.Equal("off", c.Interface.Table);
        Assert.True(c.Interface.SaveConfig);
        Assert.Equal(0x1234u, c.Interface.FwMark);
    }

    [Theory]
    [InlineData("off", 0u)]
    [InlineData("0", 0u)]
    [InlineData("51820", 51820u)]
    [InlineData("0xffffffff", uint.MaxValue)]
    public void FwMarkForms(string value, uint expected) =>
        Assert.Equal(expected, Parse(MinimalInterface + "FwMark = " + value).Interface.FwMark);

    [Theory]
    [InlineData("0", 0)]
    [InlineData("off", 0)]
    [InlineData("OFF", 0)]
    [InlineData("25", 25)]
    [InlineData("65535", 65535)]
    public void PersistentKeepaliveForms(string value, int expected) =>
        Assert.Equal(expected, Parse(MinimalInterface + $"[Peer]\nPublicKey = {PeerA}\nPersistentKeepalive = {value}").Peers[0].PersistentKeepalive);

    [Fact]
    public void ListenPortZeroMeansRandom() =>
        Assert.Equal(0, Parse(MinimalInterface + "ListenPort = 0").Interface.ListenPort);

    [Theory]
    [InlineData("[2001:db8::1]:51820", "2001:db8::1", 51820, true)]
    [InlineData("[fe80::1%eth0]:51820", "fe80::1%eth0", 51820, true)]
    [InlineData("192.0.2.1:1", "192.0.2.1", 1, true)]
    [InlineData("vpn.example.com:65535", "vpn.example.com", 65535, false)]
    [InlineData("localhost:51820", "localhost", 51820, false)]
    [InlineData("2001:db8::1:51820", "2001:db8::1", 51820, true)] // wg splits an unbracketed IPv6 at the last colon
    public void EndpointForms(string value, string host, int port, bool literal)
    {
        ConfigEndpoint? ep = Parse(MinimalInterface + $"[Peer]\nPublicKey = {PeerA}\nEndpoint = {value}").Peers[0].Endpoint;

        Assert.NotNull(ep);
        Assert.Equal(literal, ep.IsLiteral);
        Assert.Equal(port, ep.Port);
        if (!host.Contains('%', StringComparison.Ordinal))
        {
            Assert.Equal(host, ep.Host);
        }
    }

    [Fact]
    public void EndpointRemembersWhereItCameFrom()
    {
        ConfigEndpoint ep = Parse(Server).Peers[2].Endpoint!;

        Assert.Equal("wg0.conf", ep.SourceName);
        Assert.Equal(17, ep.Line);
    }

    [Fact]
    public void AllowedIpsPlusAndMinusPrefixesAddAndRemoveLikeWg()
    {
        PeerSection p = Parse(MinimalInterface + $"[Peer]\nPublicKey = {PeerA}\nAllowedIPs = 10.0.0.0/8, +192.168.0.0/16, -10.0.0.0/8").Peers[0];

        Assert.Equal([IpPrefix.Parse("192.168.0.0/16")], p.AllowedIps);
    }

    [Fact]
    public void PeerWithOnlyAPublicKeyIsValid()
    {
        PeerSection p = Assert.Single(Parse(MinimalInterface + $"[Peer]\nPublicKey = {PeerA}").Peers);

        Assert.Empty(p.AllowedIps);
        Assert.Null(p.Endpoint);
        Assert.Null(p.PresharedKey);
    }

    [Fact]
    public void InterfaceSectionMayComeAfterPeersAndRepeat()
    {
        TunnelConfig c = Parse($"[Peer]\nPublicKey = {PeerA}\n[Interface]\nListenPort = 9\n[Interface]\nPrivateKey = {PrivateKey}");

        Assert.Equal(9, c.Interface.ListenPort);
        Assert.Single(c.Peers);
    }

    [Fact]
    public void JumpingSectionIsStoredWithLowerCaseKeys()
    {
        TunnelConfig c = Parse(MinimalInterface + """
            [Jumping]
            MaxLifetime = 8h
            Endpoint = a.example:1
            endpoint = b.example:2
            Weird Key = some value with spaces
            """);

        Assert.Equal("8h", c.Jumping["maxlifetime"]);
        Assert.Equal("a.example:1, b.example:2", c.Jumping["endpoint"]);
        Assert.Equal("some value with spaces", c.Jumping["weird key"]);
    }

    [Fact]
    public void EmptyWgQuickValuesAreAccepted()
    {
        TunnelConfig c = Parse(MinimalInterface + "Address =\nDNS =\nMTU =\nTable =\nPostUp =");

        Assert.Empty(c.Interface.Addresses);
        Assert.Empty(c.Interface.DnsServers);
        Assert.Null(c.Interface.Mtu);
        Assert.Null(c.Interface.Table);
        Assert.Empty(c.Interface.PostUp);
    }

    [Theory]
    [InlineData("576", false)]
    [InlineData("1280", true)]
    [InlineData("65535", true)]
    public void MtuBounds(string mtu, bool withIPv6)
    {
        string address = withIPv6 ? "Address = fd00::1/64\n" : "Address = 10.0.0.1/24\n";
        Assert.Equal(int.Parse(mtu, System.Globalization.CultureInfo.InvariantCulture), Parse(MinimalInterface + address + "MTU = " + mtu).Interface.Mtu);
    }

    [Fact]
    public void ByteOrderMarkIsIgnored() =>
        Assert.NotNull(Parse("\uFEFF" + MinimalInterface));

    [Fact]
    public void SampleKeysAreCanonical()
    {
        foreach (string k in new[] { PrivateKey, PeerA, PeerB, PeerC, Psk })
        {
            Assert.True(WireGuardKey.TryParseBase64(k, out _), k);
        }
    }
}
