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
        var cmd = new Command("status", "Show interfaces, peers, endpoints, latest handshakes and transfer counters.") { name, json };
        cmd.SetAction(parse => Run(parse.GetValue(name), parse.GetValue(json)));
        return cmd;
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
    /// The peer's Jumping session (DESIGN §7, issue "session layer" item 8), or null for a plain
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
        w.WriteEndObject();
    }

    /// <summary>jvpn_session=1: key=value blocks, each starting with public_key=HEX.</summary>
    private static Dictionary<string, Dictionary<string, string>> TrySessions(string name)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        string reply;
        try
        {
            reply = UapiClient.Request(name, "jvpn_session=1\n\n");
        }
        catch (UapiException)
        {
            return result;
        }
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
                current[key] = value;
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
