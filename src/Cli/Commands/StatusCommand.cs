using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Interface;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn status [NAME] [--json]`: reads interfaces over the UAPI socket, so it also shows wireguard-go
/// interfaces. The JSON shape is stable (documented in README.md).
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("NAME") { Description = "Interface name; all running interfaces when omitted", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Machine-readable JSON output" };
        var watch = new Option<bool>("--watch", "-w") { Description = "Refresh every second until Ctrl-C (or until the interface goes away)" };
        var sessions = new Option<bool>("--sessions") { Description = "A server's sessions, one page of " + StatusSessions.PageSize + " (needs NAME)" };
        var search = new Option<string?>("--search") { Description = "With --sessions: only sessions whose key (base64 or hex), session id, inner address or endpoint starts with this" };
        var page = new Option<int>("--page") { Description = "With --sessions: the page to show, from 1", DefaultValueFactory = _ => 1 };
        var cmd = new Command("status", "Show interfaces, peers, endpoints, latest handshakes, transfer counters, the session and its paths.") { name, json, watch, sessions, search, page };
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(sessions))
            {
                return StatusSessions.Run(parse.GetValue(name), parse.GetValue(search), parse.GetValue(page), parse.GetValue(json));
            }
            if (parse.GetValue(search) is not null || parse.GetResult(page) is { Implicit: false })
            {
                Console.Error.WriteLine("jvpn status: --search and --page list sessions; add --sessions");
                return ExitCodes.Usage;
            }
            return parse.GetValue(watch) ? Watch(parse.GetValue(name), parse.GetValue(json)) : Run(parse.GetValue(name), parse.GetValue(json));
        });
        return cmd;
    }

    /// <summary>
    /// `--watch`: redraws the status every second (text: clears the screen first; JSON: one document per
    /// refresh, separated by a blank line, for scripts that follow it). Ends on Ctrl-C with exit 0, or
    /// when the interface is gone (the error and exit code of a plain `status`).
    /// </summary>
    private static int Watch(string? name, bool json)
    {
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (!json && !Console.IsOutputRedirected)
                {
                    Console.Out.Write("\u001b[H\u001b[2J");
                }
                int code = Run(name, json);
                if (code != ExitCodes.Ok)
                {
                    return code;
                }
                Console.Out.WriteLine(json ? "" : $"(every 1 s; Ctrl-C to stop) {DateTime.Now:HH:mm:ss}");
                Console.Out.Flush();
                stop.Token.WaitHandle.WaitOne(1000);
            }
            return ExitCodes.Ok;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static int Run(string? name, bool json)
    {
        IReadOnlyList<string> names = name is null ? UapiClient.ListInterfaces() : [name];
        var snapshots = new List<(string Name, UapiDeviceSnapshot Snapshot)>();
        var stats = new Dictionary<string, Dictionary<string, long>?>(StringComparer.Ordinal);
        var sessions = new Dictionary<string, Dictionary<string, SessionStatusRecord>>(StringComparer.Ordinal);
        var peerNames = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (string n in names)
        {
            snapshots.Add((n, UapiClient.GetSnapshot(n)));
            stats[n] = json ? TryStats(n) : null;
            sessions[n] = UapiClient.GetSessions(n);
            peerNames[n] = UapiClient.GetPeerNames(n);
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Console.Out.Write(json ? FormatJson(snapshots, stats, now, sessions, peerNames) : FormatText(snapshots, now, sessions, peerNames));
        return ExitCodes.Ok;
    }

    internal static string FormatJson(List<(string Name, UapiDeviceSnapshot Snapshot)> snapshots,
        Dictionary<string, Dictionary<string, long>?> dataPlane, long nowUnix,
        Dictionary<string, Dictionary<string, SessionStatusRecord>>? sessions = null,
        Dictionary<string, Dictionary<string, string>>? peerNames = null)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true,
            // Keys are base64: keep '+' and '/' literal (the default encoder writes \u002B), so scripts can grep them.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            w.WriteStartObject();
            w.WriteStartArray("interfaces");
            foreach ((string name, UapiDeviceSnapshot s) in snapshots)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                if (s.PrivateKey is { } priv)
                {
                    w.WriteString("public_key", PublicKeyOf(priv));
                }
                else
                {
                    w.WriteNull("public_key");
                }
                w.WriteNumber("listen_port", s.ListenPort);
                w.WriteNumber("fwmark", s.FwMark);
                if (dataPlane.GetValueOrDefault(name) is { } stats)
                {
                    w.WriteStartObject("data_plane");
                    foreach ((string key, long value) in stats)
                    {
                        w.WriteNumber(key, value);
                    }
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNull("data_plane");
                }
                w.WriteStartArray("peers");
                foreach (UapiPeerSnapshot p in s.Peers)
                {
                    w.WriteStartObject();
                    w.WriteString("public_key", WireGuardKey.ToBase64(p.PublicKey));
                    if (PeerName(peerNames, name, p) is { } peerName)
                    {
                        w.WriteString("name", peerName);
                    }
                    else
                    {
                        w.WriteNull("name");
                    }
                    w.WriteBoolean("preshared_key", p.PresharedKey is not null);
                    if (p.Endpoint is null)
                    {
                        w.WriteNull("endpoint");
                    }
                    else
                    {
                        w.WriteString("endpoint", UapiEndpoint.Format(p.Endpoint));
                    }
                    long hs = p.LastHandshakeUnixNs / 1_000_000_000;
                    w.WriteNumber("latest_handshake_unix", hs);
                    if (hs == 0)
                    {
                        w.WriteNull("latest_handshake_age_seconds");
                    }
                    else
                    {
                        w.WriteNumber("latest_handshake_age_seconds", Math.Max(0, nowUnix - hs));
                    }
                    w.WriteNumber("rx_bytes", p.RxBytes);
                    w.WriteNumber("tx_bytes", p.TxBytes);
                    w.WriteNumber("persistent_keepalive_seconds", p.PersistentKeepaliveSeconds);
                    w.WriteStartArray("allowed_ips");
                    foreach (var prefix in p.AllowedIps)
                    {
                        w.WriteStringValue(prefix.ToString());
                    }
                    w.WriteEndArray();
                    WriteSession(w, sessions?.GetValueOrDefault(name)?.GetValueOrDefault(Convert.ToHexStringLower(p.PublicKey)));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>
    /// The peer's Jumping session (docs/design.md §7), or null for a plain
    /// WireGuard peer or another userspace WireGuard.
    /// </summary>
    private static void WriteSession(Utf8JsonWriter w, SessionStatusRecord? s)
    {
        if (s is null)
        {
            w.WriteNull("session");
            return;
        }
        w.WriteStartObject("session");
        w.WriteString("role", s.Role);
        if (s.SessionLayer is { } layer)
        {
            w.WriteString("session_layer", layer);
        }
        if (s.SessionId.Length == 0)
        {
            w.WriteNull("session_id");
        }
        else
        {
            w.WriteString("session_id", s.SessionId);
        }
        w.WriteString("state", s.State);
        w.WriteNumber("state_version", s.StateVersion);
        w.WriteNumber("bound_at_version", s.BoundAtVersion);
        if (s.BoundEndpoint.Length == 0)
        {
            w.WriteNull("bound_endpoint");
        }
        else
        {
            w.WriteString("bound_endpoint", s.BoundEndpoint);
        }
        w.WriteStartObject("last_transition");
        w.WriteString("reason", s.LastReason);
        w.WriteNumber("age_ms", s.LastTransitionAgeMs);
        w.WriteEndObject();
        w.WriteNumber("switches", s.Switches);
        WritePaths(w, s);
        w.WriteEndObject();
    }

    /// <summary>
    /// The client's paths: interface, local address, role (active, pending, candidate),
    /// state, smoothed RTT, loss, age of the last authenticated reply; and the recent switches.
    /// </summary>
    private static void WritePaths(Utf8JsonWriter w, SessionStatusRecord s)
    {
        if (s.SwitchesLastMinute is not int perMinute)
        {
            return;
        }
        w.WriteStartArray("paths");
        foreach (PathStatus p in s.Paths)
        {
            w.WriteStartObject();
            w.WriteString("interface", p.Interface);
            w.WriteString("local_address", p.LocalAddress);
            w.WriteString("role", p.Role);
            w.WriteString("state", p.State);
            w.WriteNumber("rtt_ms", p.RttMs);
            w.WriteNumber("loss", p.Loss);
            w.WriteNumber("last_reply_age_ms", p.LastReplyAgeMs);
            w.WriteNumber("priority", p.Priority);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("recent_switches");
        foreach (PathSwitchStatus r in s.RecentSwitches)
        {
            w.WriteStartObject();
            w.WriteNumber("age_ms", r.AgeMs);
            w.WriteString("from", r.From);
            w.WriteString("to", r.To);
            w.WriteString("reason", r.Reason);
            w.WriteNumber("gap_ms", r.GapMs);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("switches_last_minute", perMinute);
        if (s.SuspectEpisodes is long episodes)
        {
            w.WriteNumber("suspect_episodes", episodes); // docs/paths.md "Idle": logged once each
        }
    }

    private static void AppendPaths(StringBuilder sb, SessionStatusRecord ss)
    {
        var inv = CultureInfo.InvariantCulture;
        bool any = false;
        foreach (PathStatus p in ss.Paths)
        {
            if (!any)
            {
                sb.Append("  paths:\n");
                any = true;
            }
            string rtt = p.RttMs < 0 ? "-" : p.RttMs.ToString(inv) + " ms";
            double loss = p.Loss * 100;
            sb.Append(inv, $"    {(p.Role == "active" ? "*" : " ")} {p.Interface,-12} {p.LocalAddress,-16} {p.Role,-9} {p.State,-7} rtt {rtt,-9} loss {loss,3:0}%\n");
        }
        bool header = false;
        foreach (PathSwitchStatus r in ss.RecentSwitches)
        {
            if (!header)
            {
                sb.Append("  recent switches:\n");
                header = true;
            }
            double ago = r.AgeMs / 1000.0;
            sb.Append(inv, $"    {ago,7:0.0} s ago  {r.From} -> {r.To}  {r.Reason}  gap {r.GapMs} ms\n");
        }
    }

    /// <summary>Decodes a jvpn_session=1 reply by public key (hex); empty when the reply is refused or malformed.</summary>
    internal static Dictionary<string, SessionStatusRecord> ParseSessions(string reply)
    {
        _ = SessionStatusReply.TryParse(reply, out Dictionary<string, SessionStatusRecord> sessions);
        return sessions;
    }

    /// <summary>The configured name of <paramref name="peer"/> on interface <paramref name="name"/>, or null.</summary>
    private static string? PeerName(Dictionary<string, Dictionary<string, string>>? peerNames, string name, UapiPeerSnapshot peer) =>
        peerNames?.GetValueOrDefault(name)?.GetValueOrDefault(Convert.ToHexStringLower(peer.PublicKey));

    internal static string FormatText(List<(string Name, UapiDeviceSnapshot Snapshot)> snapshots, long nowUnix,
        Dictionary<string, Dictionary<string, SessionStatusRecord>>? sessions = null,
        Dictionary<string, Dictionary<string, string>>? peerNames = null)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        foreach ((string name, UapiDeviceSnapshot s) in snapshots)
        {
            sb.Append(inv, $"interface: {name}\n");
            if (s.PrivateKey is { } priv)
            {
                sb.Append(inv, $"  public key: {PublicKeyOf(priv)}\n");
            }
            sb.Append(inv, $"  listening port: {s.ListenPort}\n");
            foreach (UapiPeerSnapshot p in s.Peers)
            {
                sb.Append(inv, $"\npeer: {WireGuardKey.ToBase64(p.PublicKey)}\n");
                if (PeerName(peerNames, name, p) is { } peerName)
                {
                    sb.Append(inv, $"  name: {peerName}\n");
                }
                sb.Append(inv, $"  endpoint: {(p.Endpoint is null ? "(none)" : UapiEndpoint.Format(p.Endpoint))}\n");
                sb.Append(inv, $"  allowed ips: {(p.AllowedIps.Count == 0 ? "(none)" : string.Join(", ", p.AllowedIps))}\n");
                long hs = p.LastHandshakeUnixNs / 1_000_000_000;
                sb.Append(inv, $"  latest handshake: {(hs == 0 ? "never" : $"{Math.Max(0, nowUnix - hs)} seconds ago")}\n");
                sb.Append(inv, $"  transfer: {p.RxBytes} B received, {p.TxBytes} B sent\n");
                if (p.PersistentKeepaliveSeconds > 0)
                {
                    sb.Append(inv, $"  persistent keepalive: every {p.PersistentKeepaliveSeconds} seconds\n");
                }
                if (sessions?.GetValueOrDefault(name)?.GetValueOrDefault(Convert.ToHexStringLower(p.PublicKey)) is { } ss)
                {
                    if (ss.SessionLayer == "off")
                    {
                        sb.Append("  session: off (the peer does not speak the Jumping session layer; plain WireGuard roaming)\n");
                    }
                    else
                    {
                        sb.Append(inv, $"  session: {ss.SessionId} {ss.State} v{ss.StateVersion} ({ss.Role}), bound {ss.BoundEndpoint}, {ss.Switches} switch(es)\n");
                    }
                    AppendPaths(sb, ss);
                }
            }
            sb.Append('\n');
        }
        if (snapshots.Count == 0)
        {
            sb.Append("no interfaces are running\n");
        }
        return sb.ToString();
    }

    /// <summary>jvpn's extension request; null for other userspace WireGuards (wireguard-go answers with an error).</summary>
    private static Dictionary<string, long>? TryStats(string name)
    {
        try
        {
            string reply = UapiClient.Request(name, "jvpn_stats=1\n\n");
            return reply.Contains("errno=0", StringComparison.Ordinal) ? DataPlaneStats.Parse(reply) : null;
        }
        catch (UapiException)
        {
            return null;
        }
    }

    private static string PublicKeyOf(byte[] privateKey)
    {
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(privateKey, pub);
        return WireGuardKey.ToBase64(pub);
    }
}
