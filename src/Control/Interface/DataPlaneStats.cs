using System.Globalization;
using System.Text;
using JumpingVpn.Tunnel.Device;
using JumpingVpn.Tunnel.Loops;

namespace JumpingVpn.Control.Interface;

/// <summary>
/// jvpn's own counters, served on the control socket as `jvpn_stats=1` (a jvpn extension next to
/// UAPI get/set): packets through each packet thread, the bytes those threads allocated after warm-up
/// (the 0 B/packet claim, measured on the live loops), and every drop reason.
/// </summary>
public static class DataPlaneStats
{
    public static string Format(WireGuardDevice device, TunnelLoops loops)
    {
        DeviceCounters c = device.Counters;
        var sb = new StringBuilder();
        void Line(string key, long value) => sb.Append(key).Append('=').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Line("packets_from_tun", loops.PacketsFromTun);
        Line("packets_from_udp", loops.PacketsFromUdp);
        Line("allocated_bytes_in_packet_loops", loops.AllocatedBytesInLoops);
        Line("receive_threads", loops.ReceiveThreads);
        for (int i = 0; i < loops.ReceiveThreads; i++)
        {
            // How the kernel's SO_REUSEPORT hash spread the datagrams (docs/threads.md "Receive threads").
            Line("packets_from_udp_thread_" + i.ToString(CultureInfo.InvariantCulture), loops.PacketsFromUdpOnThread(i));
        }
        Line("handshakes_completed", c.Handshakes);
        Line("drop_unknown_index", c.UnknownIndex);
        Line("drop_bad_mac", c.BadMac);
        Line("drop_replay", c.Replay);
        Line("drop_expired_keypair", c.ExpiredKeypair);
        Line("drop_source_not_allowed", c.SourceNotAllowed);
        Line("drop_malformed", c.Malformed);
        Line("drop_no_route", c.NoRoute);
        Line("drop_no_endpoint", c.NoEndpoint);
        Line("staged_packets", c.Staged);
        Line("handshakes_invalid", c.InvalidHandshakes);
        Line("handshakes_rate_limited", c.RateLimitedHandshakes);
        Line("cookie_replies_sent", c.CookieReplies);
        Line("handshakes_admission_source_limited", loops.HandshakesSourceLimited);
        Line("handshakes_admission_global_limited", loops.HandshakesGlobalLimited);
        Line("handshakes_queue_full", loops.HandshakesQueueFull);
        Line("handshake_work_budget_trips", loops.HandshakeWorkBudgetTrips);
        Line("handshakes_mac1_invalid", loops.HandshakesMac1Invalid);
        Line("drop_tun_oversized", loops.TunOversized);
        Line("loop_faults", loops.Faults.Total);
        return sb.ToString();
    }

    /// <summary>Parses the key=value lines back (for `jvpn status --json`).</summary>
    public static Dictionary<string, long> Parse(string response)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in response.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && line[..eq] != "errno" && long.TryParse(line[(eq + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            {
                result[line[..eq]] = v;
            }
        }
        return result;
    }
}
