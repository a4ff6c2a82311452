using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// Issue 3, replay case: an on-path attacker records the client's REATTACH_REQUEST during a NAT
/// rebinding and resends it from elsewhere, hoping to pull the session's binding to itself. The
/// frame is the encrypted plaintext of a WireGuard transport message, so the resent copy carries an
/// already-used counter: WireGuard's replay window drops it after authentication and before the
/// session layer (WireGuard paper §5.4.6, RFC 6479), the session stays where it is, and the server's
/// sweep reports the drop as a SECURITY_EVENT REPLAY_DETECTED (docs/session-spec.md §2.5).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ReattachReplayTests
{
    /// <summary>REATTACH_REQUEST is 52 bytes (4 header + 48 body), padded to 64 (WireGuard pads
    /// plaintext to 16); the transport message adds 16 bytes of header and a 16-byte tag.</summary>
    private const int ReattachDatagramSize = 16 + 64 + 16;

    /// <summary>WireGuard message type 4: transport data (WireGuard paper §5.4.6).</summary>
    private const byte TransportMessageType = 4;

    /// <summary>An address on the router's public side that is neither the NAT's nor the server's.</summary>
    private const int AttackerHost = 3;

    [Fact]
    public void Captured_reattach_replayed_from_another_address_is_rejected_and_reported()
    {
        Requirements.Ensure("jvpn", "wg", "ping", "nft", "conntrack", "tcpdump");
        using NatTopology nat = NatTopology.Create();
        using NatTunnel tunnel = nat.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        var server = (JvpnPeer)tunnel.Server;
        IPEndPointText original = tunnel.ServerViewOfClient()
            ?? throw new InvalidOperationException($"the server has no endpoint for the client after the handshake\n{tunnel.Describe()}");
        SessionView attached = SessionStatus.WaitForAttached(server, TimeSpan.FromSeconds(5));

        // 1. Record the rebinding on the server's link, as an on-path attacker would.
        NatPortRange range;
        SessionView reattached;
        List<CapturedUdp> captured;
        using (PacketCapture capture = PacketCapture.Start(nat.Server, "veth0", $"udp port {TwoHostTopology.ServerListenPort}"))
        {
            range = nat.ForceNatRebinding();
            // Traffic from the client makes the router pick the new mapping; the server answers it
            // with REBIND_HINT and the client re-attaches from there.
            Assert.True(Ping.WaitForReply(nat.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)),
                $"no ping reply after the rebinding\n{tunnel.Describe()}");
            reattached = WaitForReattach(server, attached, range, TimeSpan.FromSeconds(5), tunnel);
            // Let the last packets reach the file before tcpdump stops.
            Thread.Sleep(200);
            captured = capture.StopAndReadUdp();
        }

        var serverEndpoint = new IPEndPoint(IPAddress.Parse(nat.ServerUnderlayV4), TwoHostTopology.ServerListenPort);
        CapturedUdp request = FindReattachRequest(captured, IPAddress.Parse(nat.RouterPublicV4), serverEndpoint, range)
            ?? throw new InvalidOperationException(
                $"no {ReattachDatagramSize}-byte transport datagram from a port in {range} after the server's first reply to it; captured:\n" +
                string.Join('\n', captured) + $"\n{tunnel.Describe()}");
        TunnelScenarios.Log($"session attached {attached}, re-attached {reattached} (new range {range}); captured {captured.Count} datagrams");
        TunnelScenarios.Log($"captured REATTACH_REQUEST candidate: {request} (first 16 B {Convert.ToHexString(request.Payload, 0, 16)})");
        Assert.Equal(request.Source.Port, IPEndPointText.Parse(reattached.Bound!).Port);

        // 2. Replay it byte-for-byte from addresses that are not the session's binding. Locally sent
        // packets would be masqueraded by the router's postrouting rule (source rewritten to its
        // primary address and a port in the range); notrack keeps them exactly as sent.
        nat.Router.Exec("nft", "add", "table", "ip", "jvreplay");
        nat.Router.Exec("nft", "add", "chain", "ip", "jvreplay", "out", "{ type filter hook output priority -300; }");
        nat.Router.Exec("nft", "add", "rule", "ip", "jvreplay", "out", "udp", "dport", "51820", "notrack");
        string attackerV4 = string.Create(CultureInfo.InvariantCulture, $"10.201.{nat.Subnet}.{AttackerHost}");
        nat.Router.AddAddress(NatTopology.RouterPublicDevice, attackerV4 + "/24");

        SessionView beforeReplay = SessionStatus.Read(server)!;
        IPEndPointText? wgBeforeReplay = tunnel.ServerViewOfClient();
        long replaysBefore = ReplayCount(server, out _);
        var sources = new List<IPEndPoint>
        {
            NamespaceUdp.Send(nat.Router, new IPEndPoint(IPAddress.Parse(attackerV4), 0), serverEndpoint, request.Payload),
            // The client's pre-rebinding endpoint: an attacker steering the session back to a stale mapping.
            NamespaceUdp.Send(nat.Router, new IPEndPoint(IPAddress.Parse(original.Host), original.Port), serverEndpoint, request.Payload),
        };
        TunnelScenarios.Log($"replayed those {request.Payload.Length} B to {serverEndpoint} from {string.Join(", ", sources)}");

        // 3. Rejected and reported: the sweep reports within ~100 ms; allow 2 s.
        var clock = Stopwatch.StartNew();
        long replays;
        string events;
        while ((replays = ReplayCount(server, out events)) - replaysBefore < sources.Count && clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            Thread.Sleep(50);
        }
        SessionView afterReplay = SessionStatus.Read(server)!;
        IPEndPointText? wgAfterReplay = tunnel.ServerViewOfClient();
        TunnelScenarios.Log(string.Create(CultureInfo.InvariantCulture,
            $"after the replay: session {afterReplay} (was {beforeReplay}); WireGuard endpoint {wgAfterReplay} (was {wgBeforeReplay}); REPLAY_DETECTED count {replaysBefore} -> {replays} within {clock.ElapsedMilliseconds} ms"));

        string context = $"\nevents:\n{events}\n{tunnel.Describe()}";
        Assert.True(replays - replaysBefore >= sources.Count,
            $"expected SECURITY_EVENT REPLAY_DETECTED counting {sources.Count} replays, count went {replaysBefore} -> {replays}{context}");
        Assert.Equal(beforeReplay.Id, afterReplay.Id);
        Assert.Equal("ATTACHED", afterReplay.State);
        Assert.Equal(beforeReplay.Version, afterReplay.Version);
        Assert.Equal(beforeReplay.Bound, afterReplay.Bound);
        Assert.Equal(wgBeforeReplay, wgAfterReplay);
        Assert.True(Ping.WaitForReply(nat.Client, TwoHostTopology.ServerTunnelV4, TimeSpan.FromSeconds(5)),
            $"the tunnel stopped working after the replay{context}");
    }

    /// <summary>The client's REATTACH_REQUEST in the capture: the first 96-byte transport message from
    /// the new mapping that follows the server's first datagram to that mapping (its REBIND_HINT; the
    /// server never sends to an unbound address otherwise).</summary>
    private static CapturedUdp? FindReattachRequest(List<CapturedUdp> captured, IPAddress natAddress, IPEndPoint server, NatPortRange range)
    {
        int? hintedPort = null;
        foreach (CapturedUdp d in captured)
        {
            if (hintedPort is null)
            {
                if (d.Source.Equals(server) && d.Destination.Address.Equals(natAddress) && range.Contains(d.Destination.Port))
                {
                    hintedPort = d.Destination.Port;
                }
            }
            else if (d.Destination.Equals(server) && d.Source.Address.Equals(natAddress) && d.Source.Port == hintedPort
                && d.Payload.Length == ReattachDatagramSize && d.Payload[0] == TransportMessageType)
            {
                return d;
            }
        }
        return null;
    }

    /// <summary>Total REPLAY_DETECTED count in the server's audit stream (`jvpn events`).</summary>
    private static long ReplayCount(JvpnPeer server, out string events)
    {
        CommandResult r = server.Run("events", server.InterfaceName);
        Assert.True(r.ExitCode == 0, $"{r.CommandLine}: {r.StandardError}");
        events = r.StandardOutput;
        long count = 0;
        foreach (string line in events.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument e = JsonDocument.Parse(line);
            JsonElement root = e.RootElement;
            if (root.GetProperty("event_type").GetString() == "SECURITY_EVENT"
                && root.TryGetProperty("violation_type", out JsonElement v) && v.GetString() == "REPLAY_DETECTED")
            {
                Assert.Equal("TRANSPORT_COUNTER", root.GetProperty("freshness_marker_type").GetString());
                count += root.GetProperty("count").GetInt64();
            }
        }
        return count;
    }




    /// <summary>Waits until the server accepted the REATTACH: same session, newer version, bound to a
    /// port in the new masquerade range.</summary>
    private static SessionView WaitForReattach(JvpnPeer server, SessionView before, NatPortRange range, TimeSpan timeout, NatTunnel tunnel)
    {
        var clock = Stopwatch.StartNew();
        SessionView? s;
        while (!IsReattached(s = SessionStatus.Read(server), before, range) && clock.Elapsed < timeout)
        {
            Thread.Sleep(50);
        }
        Assert.True(IsReattached(s, before, range), $"the server never re-attached the session into {range}: {before} -> {s}\n{tunnel.Describe()}");
        return s!;
    }

    private static bool IsReattached(SessionView? s, SessionView before, NatPortRange range) =>
        s is { State: "ATTACHED", Bound: not null } && s.Id == before.Id && s.Version > before.Version
        && range.Contains(IPEndPointText.Parse(s.Bound).Port);
}
