using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using JumpingVpn.Control.Interface;
using JumpingVpn.Control.Uapi;
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
        var cmd = new Command("status", "Show interfaces, peers, endpoints, latest handshakes, transfer counters, the session and its paths.") { name, json, watch };
        cmd.SetAction(parse => parse.GetValue(watch) ? Watch(parse.GetValue(name), parse.GetValue(json)) : Run(parse.GetValue(name), parse.GetValue(json)));
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
        var sessions = new Dictionary<string, Dictionary<string, Dictionary<string, string>>>(StringComparer.Ordinal);
        foreach (string n in names)
        {
            snapshots.Add((n, UapiClient.GetSnapshot(n)));
            stats[n] = json ? TryStats(n) : null;
            sessions[n] = TrySessions(n);
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Console.Out.Write(json ? FormatJson(snapshots, stats, now, sessions) : FormatText(snapshots, now, sessions));
        return ExitCodes.Ok;
    }

    internal static string FormatJson(List<(string Name, UapiDeviceSnapshot Snapshot)> snapshots,
        Dictionary<string, Dictionary<string, long>?> dataPlane, long nowUnix,
        Dictionary<string, Dictionary<string, Dictionary<string, string>>>? sessions = null)
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
    private static void WriteSession(Utf8JsonWriter w, Dictionary<string, string>? s)
    {
        if (s is null)
        {
            w.WriteNull("session");
            return;
        }
        w.WriteStartObject("session");
        w.WriteString("role", s.GetValueOrDefault("role"));
        if (s.TryGetValue("session_layer", out string? layer))
        {
            w.WriteString("session_layer", layer);
        }
        string? id = s.GetValueOrDefault("session_id");
        if (string.IsNullOrEmpty(id))
        {
            w.WriteNull("session_id");
        }
        else
        {
            w.WriteString("session_id", id);
        }
        w.WriteString("state", s.GetValueOrDefault("state"));
        w.WriteNumber("state_version", ulong.Parse(s.GetValueOrDefault("state_version") ?? "0", CultureInfo.InvariantCulture));
        w.WriteNumber("bound_at_version", ulong.Parse(s.GetValueOrDefault("bound_at_version") ?? "0", CultureInfo.InvariantCulture));
        string? bound = s.GetValueOrDefault("bound_endpoint");
        if (string.IsNullOrEmpty(bound))
        {
            w.WriteNull("bound_endpoint");
        }
        else
        {
            w.WriteString("bound_endpoint", bound);
        }
        w.WriteStartObject("last_transition");
        w.WriteString("reason", s.GetValueOrDefault("last_reason"));
        w.WriteNumber("age_ms", long.Parse(s.GetValueOrDefault("last_transition_age_ms") ?? "-1", CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteNumber("switches", int.Parse(s.GetValueOrDefault("switches") ?? "0", CultureInfo.InvariantCulture));
        WritePaths(w, s);
        w.WriteEndObject();
    }

    /// <summary>
    /// The client's paths: interface, local address, role (active, pending, candidate),
    /// state, smoothed RTT, loss, age of the last authenticated reply; and the recent switches.
    /// </summary>
    private static void WritePaths(Utf8JsonWriter w, Dictionary<string, string> s)
    {
        if (!s.TryGetValue("path_switches_last_minute", out string? perMinute))
        {
            return;
        }
        var inv = CultureInfo.InvariantCulture;
        w.WriteStartArray("paths");
        foreach (string[] f in Rows(s.GetValueOrDefault("path"), 8))
        {
            w.WriteStartObject();
            w.WriteString("interface", f[0]);
            w.WriteString("local_address", f[1]);
            w.WriteString("role", f[2]);
            w.WriteString("state", f[3]);
            w.WriteNumber("rtt_ms", double.Parse(f[4], inv));
            w.WriteNumber("loss", double.Parse(f[5], inv));
            w.WriteNumber("last_reply_age_ms", long.Parse(f[6], inv));
            w.WriteNumber("priority", int.Parse(f[7], inv));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("recent_switches");
        foreach (string[] f in Rows(s.GetValueOrDefault("path_switch"), 5))
        {
            w.WriteStartObject();
            w.WriteNumber("age_ms", long.Parse(f[0], inv));
            w.WriteString("from", f[1]);
            w.WriteString("to", f[2]);
            w.WriteString("reason", f[3]);
            w.WriteNumber("gap_ms", long.Parse(f[4], inv));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("switches_last_minute", int.Parse(perMinute, inv));
        if (s.TryGetValue("path_suspect_episodes", out string? episodes))
        {
            w.WriteNumber("suspect_episodes", long.Parse(episodes, inv)); // docs/paths.md "Idle": logged once each
        }
    }

    private static IEnumerable<string[]> Rows(string? lines, int fields)
    {
        if (string.IsNullOrEmpty(lines))
        {
            yield break;
        }
        foreach (string line in lines.Split('\n'))
        {
            string[] f = line.Split(',');
            if (f.Length == fields)
            {
                yield return f;
            }
        }
    }

    private static void AppendPaths(StringBuilder sb, Dictionary<string, string> ss)
    {
        var inv = CultureInfo.InvariantCulture;
        bool any = false;
        foreach (string[] f in Rows(ss.GetValueOrDefault("path"), 8))
        {
            if (!any)
            {
                sb.Append("  paths:\n");
                any = true;
            }
            string rtt = f[4] == "-1" ? "-" : f[4] + " ms";
            double loss = double.Parse(f[5], inv) * 100;
            sb.Append(inv, $"    {(f[2] == "active" ? "*" : " ")} {f[0],-12} {f[1],-16} {f[2],-9} {f[3],-7} rtt {rtt,-9} loss {loss,3:0}%\n");
        }
        bool header = false;
        foreach (string[] f in Rows(ss.GetValueOrDefault("path_switch"), 5))
        {
            if (!header)
            {
                sb.Append("  recent switches:\n");
                header = true;
            }
            double ago = long.Parse(f[0], inv) / 1000.0;
            sb.Append(inv, $"    {ago,7:0.0} s ago  {f[1]} -> {f[2]}  {f[3]}  gap {f[4]} ms\n");
        }
    }

    /// <summary>jvpn_session=1: key=value blocks, each starting with public_key=HEX.</summary>
    private static Dictionary<string, Dictionary<string, string>> TrySessions(string name)
    {
        string reply;
        try
        {
            reply = UapiClient.Request(name, "jvpn_session=1\n\n");
        }
        catch (UapiException)
        {
            return new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        }
        return ParseSessions(reply);
    }

    /// <summary>Parses a jvpn_session=1 reply into per-peer key/value maps (repeated path lines joined by newlines).</summary>
    internal static Dictionary<string, Dictionary<string, string>> ParseSessions(string reply)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        if (!reply.Contains("errno=0", StringComparison.Ordinal))
        {
            return result;
        }
        Dictionary<string, string>? current = null;
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith("errno=", StringComparison.Ordinal))
            {
                continue;
            }
            string key = line[..eq];
            string value = line[(eq + 1)..];
            if (key == "public_key")
            {
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                result[value] = current;
            }
            else if (current is not null)
            {
                // Repeated keys (one path= line per path, one path_switch= per switch) keep every value.
                current[key] = key is "path" or "path_switch" && current.TryGetValue(key, out string? earlier) ? earlier + "\n" + value : value;
            }
        }
        return result;
    }

    internal static string FormatText(List<(string Name, UapiDeviceSnapshot Snapshot)> snapshots, long nowUnix,
        Dictionary<string, Dictionary<string, Dictionary<string, string>>>? sessions = null)
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
                    string layer = ss.GetValueOrDefault("session_layer") ?? "on";
                    if (layer == "off")
                    {
                        sb.Append("  session: off (the peer does not speak the Jumping session layer; plain WireGuard roaming)\n");
                    }
                    else
                    {
                        sb.Append(inv, $"  session: {ss.GetValueOrDefault("session_id")} {ss.GetValueOrDefault("state")} v{ss.GetValueOrDefault("state_version")} ({ss.GetValueOrDefault("role")}), bound {ss.GetValueOrDefault("bound_endpoint")}, {ss.GetValueOrDefault("switches")} switch(es)\n");
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
