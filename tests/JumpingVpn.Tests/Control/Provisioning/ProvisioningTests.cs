using System.Net;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Provisioning;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Control.Provisioning;

public class ProvisioningTests
{
    private static ServerInitResult NewServer(string address = "10.78.0.1/24", string? endpoint = "vpn.example.com") =>
        ServerInit.Create(new ServerInitOptions
        {
            Addresses = ServerInit.ParseAddresses(address),
            ListenPort = 51821,
            Endpoint = endpoint is null ? null : ServerInit.ParseEndpoint(endpoint, 51821),
        });

    private static TunnelConfig Parse(string text, string name = "jvpn0") => TunnelConfigParser.Parse(text, name + ".conf", name);

    private static byte[] Pub(byte[] priv)
    {
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(priv, pub);
        return pub;
    }

    [Fact]
    public void InitWritesAParsableServerConfigWithEndpointAndMatchingPublicKey()
    {
        ServerInitResult r = NewServer();
        TunnelConfig c = Parse(r.ConfigText);
        Assert.Equal("10.78.0.1/24", Assert.Single(c.Interface.Addresses).ToString());
        Assert.Equal(51821, c.Interface.ListenPort);
        Assert.Empty(c.Peers);
        Assert.Equal("vpn.example.com:51821", c.Jumping["endpoint"]);
        Assert.Equal(r.PublicKey, Pub(c.Interface.PrivateKey));
        Assert.Contains(WireGuardKey.ToBase64(r.PublicKey), r.ConfigText, StringComparison.Ordinal);
        // The session-layer policy parser must accept the file (Endpoint is a non-policy key).
        JumpingVpn.Control.Policy.SessionPolicyParser.Parse(c.Jumping, "jvpn0.conf");
    }

    [Fact]
    public void InitWithoutEndpointWritesNoJumpingSection()
    {
        ServerInitResult r = NewServer(endpoint: null);
        Assert.DoesNotContain("\n[Jumping]\n", r.ConfigText, StringComparison.Ordinal);
        Assert.Empty(Parse(r.ConfigText).Jumping);
    }

    [Theory]
    [InlineData("vpn.example.com", "vpn.example.com:51821")]
    [InlineData("vpn.example.com:443", "vpn.example.com:443")]
    [InlineData("192.0.2.1", "192.0.2.1:51821")]
    [InlineData("2001:db8::1", "[2001:db8::1]:51821")]
    [InlineData("[2001:db8::1]", "[2001:db8::1]:51821")]
    [InlineData("[2001:db8::1]:7", "[2001:db8::1]:7")]
    public void EndpointPortDefaultsToListenPort(string given, string expected) =>
        Assert.Equal(expected, ServerInit.ParseEndpoint(given, 51821).ToString());

    [Theory]
    [InlineData("host:0")]
    [InlineData("bad host")]
    [InlineData("host:99999")]
    public void BadEndpointIsAConfigError(string given) =>
        Assert.StartsWith("--endpoint: ", Assert.Throws<ConfigException>(() => ServerInit.ParseEndpoint(given, 51820)).Message, StringComparison.Ordinal);

    [Fact]
    public void AddPeerRoundTripsBothConfigsWithMatchingKeys()
    {
        ServerInitResult init = NewServer("10.78.0.1/24, fd78::1/64");
        TunnelConfig server = Parse(init.ConfigText);
        AddPeerResult r = PeerProvisioning.Add(init.ConfigText, server, new AddPeerOptions { Name = "laptop", Dns = [IPAddress.Parse("10.78.0.1")] });

        TunnelConfig newServer = Parse(r.ServerConfigText);
        PeerSection sp = Assert.Single(newServer.Peers);
        Assert.Equal(["10.78.0.2/32", "fd78::2/128"], sp.AllowedIps.Select(p => p.ToString()));
        Assert.Contains("\n# laptop\n[Peer]\n", r.ServerConfigText, StringComparison.Ordinal);
        Assert.Equal(("laptop", "laptop"), (sp.Name, r.ServerPeer.Name)); // the file's peer and the live one are named alike
        Assert.StartsWith(init.ConfigText, r.ServerConfigText, StringComparison.Ordinal); // appended, comments kept
        Assert.Equal(server.Interface.PrivateKey, newServer.Interface.PrivateKey);

        TunnelConfig client = Parse(r.ClientConfigText, "laptop");
        Assert.Equal(["10.78.0.2/32", "fd78::2/128"], client.Interface.Addresses.Select(a => a.ToString()));
        Assert.Equal([IPAddress.Parse("10.78.0.1")], client.Interface.DnsServers);
        PeerSection cp = Assert.Single(client.Peers);
        Assert.Equal(init.PublicKey, cp.PublicKey);
        Assert.Equal(sp.PresharedKey, cp.PresharedKey);
        Assert.NotNull(cp.PresharedKey);
        Assert.Equal(["0.0.0.0/0", "::/0"], cp.AllowedIps.Select(p => p.ToString()));
        Assert.Equal("vpn.example.com:51821", cp.Endpoint!.ToString());
        Assert.Equal(25, cp.PersistentKeepalive);
        // The server's [Peer] key is the public key of the client's private key.
        Assert.Equal(sp.PublicKey, Pub(client.Interface.PrivateKey));
    }

    [Fact]
    public void SecondPeerGetsTheNextAddressAndDuplicateNamesAreRefused()
    {
        ServerInitResult init = NewServer();
        AddPeerResult first = PeerProvisioning.Add(init.ConfigText, Parse(init.ConfigText), new AddPeerOptions { Name = "a" });
        AddPeerResult second = PeerProvisioning.Add(first.ServerConfigText, Parse(first.ServerConfigText), new AddPeerOptions { Name = "b" });
        Assert.Equal([IPAddress.Parse("10.78.0.3")], second.ClientAddresses);
        Assert.Equal(2, Parse(second.ServerConfigText).Peers.Count);
        Assert.Throws<PeerNameTakenException>(() =>
            PeerProvisioning.Add(second.ServerConfigText, Parse(second.ServerConfigText), new AddPeerOptions { Name = "a" }));
    }

    [Fact]
    public void ExhaustedSubnetIsAClearConfigError()
    {
        ServerInitResult init = NewServer("10.78.0.1/30");
        AddPeerResult one = PeerProvisioning.Add(init.ConfigText, Parse(init.ConfigText), new AddPeerOptions { Name = "one" });
        Assert.Equal([IPAddress.Parse("10.78.0.2")], one.ClientAddresses);
        ConfigException e = Assert.Throws<ConfigException>(() =>
            PeerProvisioning.Add(one.ServerConfigText, Parse(one.ServerConfigText), new AddPeerOptions { Name = "two" }));
        Assert.Contains("no free address left in 10.78.0.0/30", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplicitAddressAndAllowedIpsAreUsedAndTakenAddressesRefused()
    {
        ServerInitResult init = NewServer();
        AddPeerResult r = PeerProvisioning.Add(init.ConfigText, Parse(init.ConfigText), new AddPeerOptions
        {
            Name = "fixed",
            Addresses = [IPAddress.Parse("10.78.0.50")],
            AllowedIps = [IpPrefix.Parse("10.78.0.0/24")],
        });
        Assert.Equal("10.78.0.50/32", Assert.Single(Parse(r.ServerConfigText).Peers).AllowedIps[0].ToString());
        Assert.Equal("10.78.0.0/24", Assert.Single(Parse(r.ClientConfigText, "c").Peers).AllowedIps[0].ToString());
        ConfigException e = Assert.Throws<ConfigException>(() => PeerProvisioning.Add(r.ServerConfigText, Parse(r.ServerConfigText),
            new AddPeerOptions { Name = "clash", Addresses = [IPAddress.Parse("10.78.0.50")] }));
        Assert.StartsWith("--address: 10.78.0.50 is already used", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingEndpointNeedsTheOption()
    {
        ServerInitResult init = NewServer(endpoint: null);
        ConfigException e = Assert.Throws<ConfigException>(() =>
            PeerProvisioning.Add(init.ConfigText, Parse(init.ConfigText), new AddPeerOptions { Name = "x" }));
        Assert.Contains("pass --endpoint", e.Message, StringComparison.Ordinal);
        AddPeerResult r = PeerProvisioning.Add(init.ConfigText, Parse(init.ConfigText),
            new AddPeerOptions { Name = "x", Endpoint = ServerInit.ParseEndpoint("192.0.2.7", 51821) });
        Assert.Equal("192.0.2.7:51821", Parse(r.ClientConfigText, "c").Peers[0].Endpoint!.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("two\nlines")]
    public void BadNamesAreRefused(string name)
    {
        ServerInitResult init = NewServer();
        Assert.Throws<ConfigException>(() => PeerProvisioning.Add(init.ConfigText, Parse(init.ConfigText), new AddPeerOptions { Name = name }));
    }

    [Fact]
    public void InjectedRandomnessMakesKeysDeterministic()
    {
        static void Zeros(Span<byte> b) => b.Fill(7);
        var options = new ServerInitOptions { Addresses = ServerInit.ParseAddresses("10.0.0.1/24") };
        Assert.Equal(ServerInit.Create(options, Zeros).ConfigText, ServerInit.Create(options, Zeros).ConfigText);
    }
}
