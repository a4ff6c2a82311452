using JumpingVpn.Control.Config;
using static JumpingVpn.Tests.Control.Config.ConfigSamples;

namespace JumpingVpn.Tests.Control.Config;

/// <summary>A peer's name is the `# NAME` line directly above its [Peer] header, as `jvpn server add-peer NAME` writes it.</summary>
public sealed class PeerNameTests
{
    private static TunnelConfig Parse(string text) => TunnelConfigParser.Parse(text, "wg0.conf", "wg0");

    [Fact]
    public void The_comment_line_directly_above_a_peer_header_names_that_peer()
    {
        TunnelConfig c = Parse(MinimalInterface + "\n# laptop\n[Peer]\nPublicKey = " + PeerA + "\nAllowedIPs = 10.0.0.2/32\n"
            + "\n#   Anna's phone  \r\n[Peer]\r\nPublicKey = " + PeerB + "\nAllowedIPs = 10.0.0.3/32\n");

        Assert.Equal(["laptop", "Anna's phone"], c.Peers.Select(p => p.Name));
    }

    [Theory]
    [InlineData("# laptop\n\n[Peer]")] // a blank line between: a comment about the file, not the peer
    [InlineData("# laptop\nListenPort = 51820\n[Peer]")] // a key line between
    [InlineData("ListenPort = 51820 # laptop\n[Peer]")] // a comment after a value
    [InlineData("#\n[Peer]")] // an empty comment
    [InlineData("[Peer]")]
    public void Other_comments_name_no_peer(string lead)
    {
        TunnelConfig c = Parse(MinimalInterface + lead + "\nPublicKey = " + PeerA + "\nAllowedIPs = 10.0.0.2/32\n");

        Assert.Null(Assert.Single(c.Peers).Name);
    }

    [Fact]
    public void The_writer_puts_the_name_back_above_the_peer()
    {
        TunnelConfig c = Parse(MinimalInterface + "\n# laptop\n[Peer]\nPublicKey = " + PeerA + "\nAllowedIPs = 10.0.0.2/32\n\n[Peer]\nPublicKey = " + PeerB + "\n");

        string written = TunnelConfigWriter.Write(c);

        Assert.Contains("\n# laptop\n[Peer]\nPublicKey = " + PeerA, written, StringComparison.Ordinal);
        Assert.Equal(["laptop", null], Parse(written).Peers.Select(p => p.Name));
    }
}
