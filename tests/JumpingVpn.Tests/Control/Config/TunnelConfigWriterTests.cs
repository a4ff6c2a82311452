using System.Net;
using JumpingVpn.Control.Config;
using JumpingVpn.Platform.Net;
using static JumpingVpn.Tests.Control.Config.ConfigSamples;

namespace JumpingVpn.Tests.Control.Config;

public class TunnelConfigWriterTests
{
    private static TunnelConfig Parse(string text) => TunnelConfigParser.Parse(text, "wg0.conf", "wg0");

    private static void AssertSame(TunnelConfig a, TunnelConfig b)
    {
        Assert.Equal(a.Interface.PrivateKey, b.Interface.PrivateKey);
        Assert.Equal(a.Interface.Addresses, b.Interface.Addresses);
        Assert.Equal(a.Interface.ListenPort, b.Interface.ListenPort);
        Assert.Equal(a.Interface.DnsServers, b.Interface.DnsServers);
        Assert.Equal(a.Interface.DnsSearch, b.Interface.DnsSearch);
        Assert.Equal(a.Interface.Mtu, b.Interface.Mtu);
        Assert.Equal(a.Interface.FwMark, b.Interface.FwMark);
        Assert.Equal(a.Interface.Table, b.Interface.Table);
        Assert.Equal(a.Interface.PreUp, b.Interface.PreUp);
        Assert.Equal(a.Interface.PostUp, b.Interface.PostUp);
        Assert.Equal(a.Interface.PreDown, b.Interface.PreDown);
        Assert.Equal(a.Interface.PostDown, b.Interface.PostDown);
        Assert.Equal(a.Interface.SaveConfig, b.Interface.SaveConfig);
        Assert.Equal(a.Peers.Count, b.Peers.Count);
        for (int i = 0; i < a.Peers.Count; i++)
        {
            Assert.Equal(a.Peers[i].PublicKey, b.Peers[i].PublicKey);
            Assert.Equal(a.Peers[i].PresharedKey, b.Peers[i].PresharedKey);
            Assert.Equal(a.Peers[i].AllowedIps, b.Peers[i].AllowedIps);
            Assert.Equal(a.Peers[i].Endpoint, b.Peers[i].Endpoint);
            Assert.Equal(a.Peers[i].PersistentKeepalive, b.Peers[i].PersistentKeepalive);
        }
        Assert.Equal(a.Jumping, b.Jumping);
    }

    [Theory]
    [InlineData(Client)]
    [InlineData(Server)]
    public void ManPageExamplesRoundTrip(string text)
    {
        TunnelConfig first = Parse(text);
        string written = TunnelConfigWriter.Write(first);
        TunnelConfig second = Parse(written);

        AssertSame(first, second);
        Assert.Equal(written, TunnelConfigWriter.Write(second));
    }

    [Fact]
    public void EverythingRoundTrips()
    {
        TunnelConfig first = Parse(MinimalInterface + $"""
            Address = 10.0.0.2/24, fd00::2/64
            ListenPort = 0
            FwMark = 51820
            DNS = 10.0.0.1, fd00::1, corp.example
            MTU = 1420
            Table = 1234
            PreUp = echo pre
            PostUp = iptables -A FORWARD -i %i -j ACCEPT; echo done
            PostUp = echo second
            PreDown = echo predown
            PostDown = echo postdown
            SaveConfig = true
            [Peer]
            PublicKey = {PeerA}
            PresharedKey = {Psk}
            AllowedIPs = 0.0.0.0/0, ::/0
            Endpoint = [2001:db8::1]:51820
            PersistentKeepalive = 25
            [Peer]
            PublicKey = {PeerB}
            PersistentKeepalive = off
            [Jumping]
            MaxLifetime = 8h
            endpoint = a.example:1
            endpoint = b.example:2
            """);

        TunnelConfig second = Parse(TunnelConfigWriter.Write(first));

        AssertSame(first, second);
        Assert.Equal(0, second.Peers[1].PersistentKeepalive);
        Assert.Equal("a.example:1, b.example:2", second.Jumping["endpoint"]);
    }

    [Fact]
    public void WritesPlainWgQuickText()
    {
        var config = new TunnelConfig
        {
            InterfaceName = "client",
            Interface = new InterfaceSection
            {
                PrivateKey = Convert.FromBase64String(PrivateKey),
                Addresses = [new InterfaceAddress(IPAddress.Parse("10.8.0.2"), 32)],
                DnsServers = [IPAddress.Parse("10.8.0.1")],
            },
            Peers =
            [
                new PeerSection
                {
                    PublicKey = Convert.FromBase64String(PeerA),
                    AllowedIps = [IpPrefix.Parse("0.0.0.0/0"), IpPrefix.Parse("::/0")],
                    Endpoint = new ConfigEndpoint("vpn.example.com", 51820, isLiteral: false),
                    PersistentKeepalive = 25,
                },
            ],
        };

        Assert.Equal($"""
            [Interface]
            PrivateKey = {PrivateKey}
            Address = 10.8.0.2/32
            DNS = 10.8.0.1

            [Peer]
            PublicKey = {PeerA}
            AllowedIPs = 0.0.0.0/0, ::/0
            Endpoint = vpn.example.com:51820
            PersistentKeepalive = 25

            """.ReplaceLineEndings("\n"), TunnelConfigWriter.Write(config));
    }

    [Fact]
    public void CommandWithHashCannotBeWritten()
    {
        var config = new TunnelConfig
        {
            InterfaceName = "wg0",
            Interface = new InterfaceSection { PrivateKey = Convert.FromBase64String(PrivateKey), PostUp = ["echo # oops"] },
        };

        Assert.Throws<ArgumentException>(() => TunnelConfigWriter.Write(config));
    }
}
