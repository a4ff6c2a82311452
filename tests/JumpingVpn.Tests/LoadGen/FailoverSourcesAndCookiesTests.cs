using System.Net;
using JumpingVpn.LoadGen.Bench;
using JumpingVpn.LoadGen.Bench.Failover;
using JumpingVpn.Tunnel.Cookies;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Noise;

namespace JumpingVpn.Tests.LoadGen;

/// <summary>
/// `jvpn-loadgen failover` as many clients instead of one address (docs/cluster.md "Benchmark"): consecutive
/// source addresses, and a cookie reply answered at once with an initiation whose mac2 the node accepts.
/// </summary>
public sealed class FailoverSourcesAndCookiesTests
{
    [Fact]
    public void Source_addresses_are_consecutive_across_octets_and_bad_ranges_are_refused_with_a_reason()
    {
        IReadOnlyList<IPAddress> range = SourceAddresses.Range(IPAddress.Parse("10.61.128.254"), 4, out string? problem)!;
        Assert.Null(problem);
        Assert.Equal(["10.61.128.254", "10.61.128.255", "10.61.129.0", "10.61.129.1"], range.Select(a => a.ToString()));

        Assert.Null(SourceAddresses.Range(IPAddress.Parse("10.61.128.1"), 0, out problem));
        Assert.Contains("1 to 4096", problem, StringComparison.Ordinal);
        Assert.Null(SourceAddresses.Range(IPAddress.Parse("255.255.255.250"), 10, out problem));
        Assert.Contains("run past", problem, StringComparison.Ordinal);
        Assert.Null(SourceAddresses.Range(IPAddress.Parse("fd00::1"), 2, out problem));
        Assert.Contains("IPv4", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cookie_reply_is_answered_once_per_initiation_and_only_while_handshaking_with_that_node()
    {
        var r = new CookieResend(2);
        r.OnInitiation(0);
        Assert.True(r.OnCookieReply(0, FailoverClientState.Handshaking, clientNode: 1, fromNode: 1));
        Assert.False(r.OnCookieReply(0, FailoverClientState.Handshaking, 1, 1)); // the resend drew another: timers rule now
        r.OnInitiation(0); // the client's retransmit timer
        Assert.True(r.OnCookieReply(0, FailoverClientState.Handshaking, 1, 1));

        r.OnInitiation(1);
        Assert.False(r.OnCookieReply(1, FailoverClientState.Handshaking, clientNode: 2, fromNode: 1)); // a node it left
        Assert.False(r.OnCookieReply(1, FailoverClientState.Helloing, 1, 1)); // already answered
        Assert.Equal((2L, 3L), (r.Resent, r.Ignored));
    }

    [Fact]
    public void The_initiation_sent_after_a_cookie_reply_carries_a_mac2_the_node_accepts_for_that_source()
    {
        byte[] serverPrivate = new byte[32];
        X25519.GeneratePrivateKey(serverPrivate);
        byte[] serverPublic = new byte[32];
        X25519.DerivePublicKey(serverPrivate, serverPublic);
        byte[] clientPrivate = new byte[32];
        X25519.GeneratePrivateKey(clientPrivate);
        var sim = new SimClient(0, clientPrivate, serverPublic, 0x0a400002);
        var node = new CookieChecker(serverPublic);
        byte[] source = [10, 61, 128, 7];
        byte[] otherSource = [10, 61, 128, 8];
        long now = 1_000_000_000;

        byte[] first = new byte[MessageLayout.InitiationSize];
        sim.WriteInitiation(first, now, 1_700_000_000_000_000_000);
        Assert.True(node.CheckMac1(first));
        Assert.False(node.CheckMac2(first, source, now)); // no cookie yet: under load the node answers with a reply

        byte[] reply = new byte[MessageLayout.CookieReplySize];
        node.CreateReply(first, sim.LocalIndex, source, now, System.Security.Cryptography.RandomNumberGenerator.Fill, reply);
        Assert.True(sim.ConsumeCookieReply(reply, now));

        byte[] again = new byte[MessageLayout.InitiationSize];
        sim.WriteInitiation(again, now + 1_000_000, 1_700_000_000_001_000_000);
        Assert.True(node.CheckMac1(again));
        Assert.True(node.CheckMac2(again, source, now + 1_000_000));
        Assert.False(node.CheckMac2(again, otherSource, now + 1_000_000)); // the cookie is bound to the source address
    }

    [Fact]
    public void A_session_move_from_the_attached_node_sends_the_client_to_the_named_node_at_once()
    {
        JumpingVpn.Control.Sessions.SessionId id = JumpingVpn.Control.Sessions.SessionId.Read(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 });
        var c = new FailoverClient([0, 1, 2], heartbeatMs: 100);
        c.Start(0);
        Assert.True(c.OnHandshakeResponse(10));
        c.OnHelloAck(20, 0, id, 1, 120);
        Assert.True(c.IsAttached);

        Assert.False(c.OnSessionMove(30, node: 1, id, 1, targetNode: 2)); // not from the node it is attached to
        Assert.False(c.OnSessionMove(30, node: 0, JumpingVpn.Control.Sessions.SessionId.None, 1, targetNode: 2)); // another session
        Assert.True(c.OnSessionMove(30, node: 0, id, 4, targetNode: 2));
        Assert.Equal((FailoverClientState.Handshaking, 2, 4UL), (c.State, c.Node, c.AckedVersion));
        Assert.False(c.OnSessionMove(40, node: 0, id, 4, targetNode: 2)); // a repeat of the move: already on its way

        var unnamed = new FailoverClient([0, 1, 2], heartbeatMs: 100);
        unnamed.Start(0);
        unnamed.OnHandshakeResponse(10);
        unnamed.OnHelloAck(20, 0, id, 1, 120);
        Assert.True(unnamed.OnSessionMove(30, node: 0, id, 1, targetNode: -1));
        Assert.Equal(1, unnamed.Node); // no target named: the next node of its list
    }
}
