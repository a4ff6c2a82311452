using JumpingVpn.Control.Config;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Tests.Control.Config;

/// <summary>The peers file (docs/scaling.md): one client per line, errors name file, line and key.</summary>
public sealed class PeersFileTests
{
    private static string Key(byte seed)
    {
        byte[] k = new byte[32];
        k[0] = seed;
        k[31] = 0x40;
        return WireGuardKey.ToBase64(k);
    }

    private static IReadOnlyList<PeerSection> Parse(string text) => PeersFile.Parse(new StringReader(text), "test.peers");

    [Fact]
    public void ParsesKeysAllowedIpsAndOptionalPresharedKey()
    {
        string text = $"# clients\n\n{Key(1)} 10.64.0.2/32\n  {Key(2)}\t10.64.0.3/32,fd00::3/128  {Key(9)}  # laptop\n";
        IReadOnlyList<PeerSection> peers = Parse(text);
        Assert.Equal(2, peers.Count);
        Assert.Equal(Key(1), Convert.ToBase64String(peers[0].PublicKey));
        Assert.Equal("10.64.0.2/32", Assert.Single(peers[0].AllowedIps).ToString());
        Assert.Null(peers[0].PresharedKey);
        Assert.Equal(3, peers[0].Line);
        Assert.Equal(["10.64.0.3/32", "fd00::3/128"], peers[1].AllowedIps.Select(p => p.ToString()));
        Assert.Equal(Key(9), Convert.ToBase64String(peers[1].PresharedKey!));
        Assert.Null(peers[1].Endpoint);
    }

    [Theory]
    [InlineData("onlyonefield", 1, null)]
    [InlineData("a b c d", 1, null)]
    [InlineData("notakey 10.0.0.1/32", 1, "PublicKey")]
    [InlineData("KEY 10.0.0.300/32", 1, "AllowedIPs")]
    [InlineData("KEY 10.0.0.1/32,", 1, "AllowedIPs")]
    [InlineData("KEY 10.0.0.1/32 notapsk", 1, "PresharedKey")]
    public void BadLinesNameTheLineAndKey(string line, int expectedLine, string? expectedKey)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(line.Replace("KEY", Key(1), StringComparison.Ordinal)));
        Assert.Equal(expectedLine, e.Line);
        Assert.Equal(expectedKey, e.Key);
        Assert.Equal("test.peers", e.File);
    }

    [Fact]
    public void DuplicateKeyNamesTheFirstLine()
    {
        var e = Assert.Throws<ConfigException>(() => Parse($"{Key(1)} 10.64.0.2/32\n{Key(2)} 10.64.0.3/32\n{Key(1)} 10.64.0.4/32\n"));
        Assert.Equal(3, e.Line);
        Assert.Contains("line 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrittenFileParsesBack()
    {
        var w = new StringWriter();
        byte[] a = Convert.FromBase64String(Key(3)), b = Convert.FromBase64String(Key(4));
        PeersFile.Write(w, [(a, "10.64.0.2/32"), (b, "10.64.0.3/32")]);
        IReadOnlyList<PeerSection> peers = Parse(w.ToString());
        Assert.Equal([Key(3), Key(4)], peers.Select(p => Convert.ToBase64String(p.PublicKey)));
    }

    [Fact]
    public void ConfigNamesThePeersFileRelativeToItself()
    {
        string dir = Directory.CreateTempSubdirectory("jvpn-peers-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "jv0.peers"), $"{Key(5)} 10.64.0.2/32\n{Key(6)} 10.64.0.3/32\n");
            string conf = Path.Combine(dir, "jv0.conf");
            File.WriteAllText(conf, $"[Interface]\nPrivateKey = {Key(7)}\nAddress = 10.64.0.1/10\n\n[Peer]\nPublicKey = {Key(8)}\nAllowedIPs = 10.99.0.0/24\n\n[Jumping]\nPeers = jv0.peers\n");
            TunnelConfig config = TunnelConfigParser.ParseFile(conf);
            Assert.Equal([Key(8), Key(5), Key(6)], config.Peers.Select(p => Convert.ToBase64String(p.PublicKey)));

            File.AppendAllText(Path.Combine(dir, "jv0.peers"), $"{Key(8)} 10.64.0.9/32\n");
            var e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(conf));
            Assert.Equal(3, e.Line);
            Assert.Contains("[Peer] section", e.Message, StringComparison.Ordinal);

            File.Delete(Path.Combine(dir, "jv0.peers"));
            Assert.Contains("does not exist", Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(conf)).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void HundredThousandPeersParseInSeconds()
    {
        // Not a timing assertion: proves the format scales to the 100k without quadratic work
        // by parsing it at all inside the test's normal budget; the load time is measured by bench control.
        var sb = new System.Text.StringBuilder();
        byte[] k = new byte[32];
        for (int i = 0; i < 100_000; i++)
        {
            BitConverter.TryWriteBytes(k, i);
            sb.Append(Convert.ToBase64String(k)).Append(" 10.").Append(64 + (i >> 16)).Append('.').Append((i >> 8) & 255).Append('.').Append(i & 255).Append("/32\n");
        }
        Assert.Equal(100_000, Parse(sb.ToString()).Count);
    }
}
