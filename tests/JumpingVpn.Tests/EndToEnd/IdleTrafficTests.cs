using System.Globalization;
using System.Net;
using System.Text.Json;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.EndToEnd;

/// <summary>
/// What an idle client costs on the wire (docs/paths.md "Idle"), counted with tcpdump on the client's
/// links, both directions, over 60 s of steady idle state: once the heartbeat has backed off (about
/// 18 s after the last traffic by default, 34 s with the battery profile) and before WireGuard's first
/// rekey (120 s after the handshake, which adds one handshake, one keepalive and one HELLO, each answered,
/// every two minutes; docs/paths.md counts them per day). The budgets: default profile at most one
/// packet per 10 s each way (the idle interval is 12 s), battery at most one per 25 s; the server sends
/// nothing it was not asked for; no audit line while nothing changes.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class IdleTrafficTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("default", 10, 22)]
    [InlineData("battery", 25, 38)]
    public void Idle_one_path_client_stays_within_its_profile_budget(string profile, int budgetSeconds, int settleSeconds)
    {
        Requirements.Ensure("jvpn", "wg", "ping", "nft", "conntrack", "tcpdump");
        using NatTopology nat = NatTopology.Create();
        Dictionary<string, string>? jumping = profile == "default" ? null : new(StringComparer.Ordinal) { ["Profile"] = profile };
        using NatTunnel tunnel = nat.StartTunnel(PeerKind.Jvpn, PeerKind.Jvpn, clientJumping: jumping);
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        SessionStatus.WaitForAttached((JvpnPeer)tunnel.Server, TimeSpan.FromSeconds(5));
        Thread.Sleep(TimeSpan.FromSeconds(settleSeconds));

        Counted counted = Count(nat.Client, ["veth0"], nat.ClientPrivateV4);
        string context = $"\n{counted}\n{tunnel.Describe()}";
        TunnelScenarios.Log($"idle, {profile} profile, one path: {counted.Summary()}");
        AssertWithinBudget(counted, "veth0", budgetSeconds, context);
        AssertQuietAudit((JvpnPeer)tunnel.Client, counted, context);
        AssertQuietAudit((JvpnPeer)tunnel.Server, counted, context);
        Assert.Equal("ATTACHED", SessionStatus.Read((JvpnPeer)tunnel.Server)!.State);
    }

    /// <summary>Two paths: the active one carries the heartbeat, the candidate its probes, each within the budget.</summary>
    [Fact]
    public void Idle_two_path_client_keeps_every_path_within_the_default_budget()
    {
        Requirements.Ensure("jvpn", "ping", "nft", "tcpdump");
        using TwoLinkTopology topology = TwoLinkTopology.Create();
        using TwoLinkTunnel tunnel = topology.StartTunnel();
        tunnel.WaitForHandshake(TunnelScenarios.HandshakeTimeout);
        tunnel.WaitForActive(TwoLinkTopology.Wifi, TimeSpan.FromSeconds(10));
        SessionStatus.WaitForAttached(tunnel.Server, TimeSpan.FromSeconds(5));
        Thread.Sleep(TimeSpan.FromSeconds(22));

        Counted counted = Count(topology.Client, [TwoLinkTopology.Wifi, TwoLinkTopology.Cell],
            topology.ClientAddress(TwoLinkTopology.Wifi), topology.ClientAddress(TwoLinkTopology.Cell));
        string context = $"\n{counted}\n{tunnel.Describe()}";
        TunnelScenarios.Log($"idle, default profile, two paths: {counted.Summary()}");
        AssertWithinBudget(counted, TwoLinkTopology.Wifi, 10, context);
        AssertWithinBudget(counted, TwoLinkTopology.Cell, 10, context);
        Assert.True(counted.Up(TwoLinkTopology.Cell).Count > 0, $"the candidate path was never probed while idle{context}");
        AssertQuietAudit(tunnel.Client, counted, context);
        AssertQuietAudit(tunnel.Server, counted, context);
        Assert.Equal(TwoLinkTopology.Wifi, tunnel.ActivePath());
    }

    /// <summary>
    /// At most one packet per budget each way on <paramref name="link"/>: a count of at most
    /// floor(window / budget) + 1 (the +1 is a packet on the window's edge) and no two client packets
    /// closer than the budget; every server packet answers a client packet sent at most 1 s before it.
    /// </summary>
    private static void AssertWithinBudget(Counted c, string link, int budgetSeconds, string context)
    {
        List<CapturedUdp> up = c.Up(link);
        List<CapturedUdp> down = c.Down(link);
        int max = (int)(c.Length.TotalSeconds / budgetSeconds) + 1;
        Assert.True(up.Count <= max, $"{link}: {up.Count} client packets in {c.Length.TotalSeconds:0} s (budget {max}){context}");
        Assert.True(down.Count <= max, $"{link}: {down.Count} server packets in {c.Length.TotalSeconds:0} s (budget {max}){context}");
        for (int i = 1; i < up.Count; i++)
        {
            TimeSpan gap = up[i].Time - up[i - 1].Time;
            // 100 ms for the capture's and the sweep's timestamps (the schedule itself never sends early).
            Assert.True(gap.TotalSeconds >= budgetSeconds - 0.1, $"{link}: two client packets {gap.TotalMilliseconds:0} ms apart{context}");
        }
        foreach (CapturedUdp d in down)
        {
            bool prompted = up.Exists(u => u.Time <= d.Time && d.Time - u.Time <= TimeSpan.FromSeconds(1));
            Assert.True(prompted, $"{link}: the server sent {d} without a client packet in the second before it{context}");
        }
    }

    /// <summary>Nothing changed during the window, so no audit line may carry a time inside it.</summary>
    private static void AssertQuietAudit(JvpnPeer peer, Counted c, string context)
    {
        CommandResult events = peer.Run("events", peer.InterfaceName);
        Assert.True(events.ExitCode == 0, $"{events.CommandLine}: {events.StandardError}");
        long from = c.Start.ToUnixTimeMilliseconds();
        long to = (c.Start + c.Length).ToUnixTimeMilliseconds();
        var inside = new List<string>();
        foreach (string line in events.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument e = JsonDocument.Parse(line);
            long ts = e.RootElement.GetProperty("ts_ms").GetInt64();
            if (ts >= from && ts <= to)
            {
                inside.Add(line);
            }
        }
        Assert.True(inside.Count == 0, $"{peer.InterfaceName} wrote {inside.Count} audit lines while idle:\n{string.Join("\n", inside)}{context}");
    }

    private static Counted Count(NetNs client, string[] links, params string[] clientAddresses)
    {
        var captures = new List<PacketCapture>();
        try
        {
            foreach (string link in links)
            {
                captures.Add(PacketCapture.Start(client, link, "udp"));
            }
            DateTimeOffset start = DateTimeOffset.UtcNow;
            Thread.Sleep(Window);
            TimeSpan length = DateTimeOffset.UtcNow - start;
            var byLink = new Dictionary<string, List<CapturedUdp>>(StringComparer.Ordinal);
            for (int i = 0; i < links.Length; i++)
            {
                byLink[links[i]] = captures[i].StopAndReadUdp();
            }
            return new Counted(start, length, byLink, [.. clientAddresses.Select(IPAddress.Parse)]);
        }
        finally
        {
            foreach (PacketCapture capture in captures)
            {
                capture.Dispose();
            }
        }
    }

    private sealed record Counted(DateTimeOffset Start, TimeSpan Length, Dictionary<string, List<CapturedUdp>> ByLink, IPAddress[] Client)
    {
        public List<CapturedUdp> Up(string link) => ByLink[link].FindAll(p => Client.Contains(p.Source.Address));

        public List<CapturedUdp> Down(string link) => ByLink[link].FindAll(p => !Client.Contains(p.Source.Address));

        /// <summary>Packets per link and direction in the first 30 s and in the whole 60 s.</summary>
        public string Summary()
        {
            var parts = new List<string>();
            DateTimeOffset half = Start + TimeSpan.FromSeconds(30);
            foreach (string link in ByLink.Keys)
            {
                List<CapturedUdp> up = Up(link);
                List<CapturedUdp> down = Down(link);
                parts.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{link}: up {up.Count(p => p.Time < half)}/30 s {up.Count}/{Length.TotalSeconds:0} s ({up.Sum(p => p.Payload.Length)} B payload), down {down.Count(p => p.Time < half)}/30 s {down.Count}/{Length.TotalSeconds:0} s ({down.Sum(p => p.Payload.Length)} B payload)"));
            }
            return string.Join("; ", parts);
        }

        public override string ToString() => string.Join("\n", ByLink.SelectMany(kv => kv.Value.Select(p => $"{kv.Key} {p}")));
    }
}
