using System.Globalization;
using System.Text;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Config;

/// <summary>
/// Writes a <see cref="TunnelConfig"/> as a wg-quick file that <see cref="TunnelConfigParser"/>, wg-quick
/// and the WireGuard apps read back to the same configuration (used by `jvpn server add-peer`). The
/// [Jumping] section is written only when it has entries, because stock wg(8) rejects unknown sections.
/// </summary>
public static class TunnelConfigWriter
{
    /// <exception cref="ArgumentException">A value cannot be represented in the file format (a '#' or line break in a command or [Jumping] entry).</exception>
    public static string Write(TunnelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sb = new StringBuilder();
        InterfaceSection i = config.Interface;
        sb.Append("[Interface]\n");
        Line(sb, "PrivateKey", WireGuardKey.ToBase64(i.PrivateKey));
        if (i.Addresses.Count > 0)
        {
            Line(sb, "Address", string.Join(", ", i.Addresses));
        }
        if (i.ListenPort is int port)
        {
            Line(sb, "ListenPort", port.ToString(CultureInfo.InvariantCulture));
        }
        if (i.FwMark is uint mark)
        {
            Line(sb, "FwMark", "0x" + mark.ToString("x", CultureInfo.InvariantCulture));
        }
        if (i.DnsServers.Count + i.DnsSearch.Count > 0)
        {
            var dns = new List<string>();
            foreach (System.Net.IPAddress a in i.DnsServers)
            {
                dns.Add(a.ToString());
            }
            foreach (string s in i.DnsSearch)
            {
                dns.Add(Checked("DNS", s));
            }
            Line(sb, "DNS", string.Join(", ", dns));
        }
        if (i.Mtu is int mtu)
        {
            Line(sb, "MTU", mtu.ToString(CultureInfo.InvariantCulture));
        }
        if (i.Table is string table)
        {
            Line(sb, "Table", Checked("Table", table));
        }
        Commands(sb, "PreUp", i.PreUp);
        Commands(sb, "PostUp", i.PostUp);
        Commands(sb, "PreDown", i.PreDown);
        Commands(sb, "PostDown", i.PostDown);
        if (i.SaveConfig)
        {
            Line(sb, "SaveConfig", "true");
        }

        foreach (PeerSection p in config.Peers)
        {
            sb.Append('\n');
            if (p.Name is { } name)
            {
                sb.Append("# ").Append(name).Append('\n');
            }
            sb.Append("[Peer]\n");
            Line(sb, "PublicKey", WireGuardKey.ToBase64(p.PublicKey));
            if (p.PresharedKey is byte[] psk)
            {
                Line(sb, "PresharedKey", WireGuardKey.ToBase64(psk));
            }
            if (p.AllowedIps.Count > 0)
            {
                Line(sb, "AllowedIPs", string.Join(", ", p.AllowedIps));
            }
            if (p.Endpoint is ConfigEndpoint ep)
            {
                Line(sb, "Endpoint", ep.ToString());
            }
            if (p.PersistentKeepalive is int ka)
            {
                Line(sb, "PersistentKeepalive", ka.ToString(CultureInfo.InvariantCulture));
            }
        }

        if (config.Jumping.Count > 0)
        {
            sb.Append("\n[Jumping]\n");
            var keys = new List<string>(config.Jumping.Keys);
            keys.Sort(StringComparer.Ordinal);
            foreach (string key in keys)
            {
                if (key.Contains('=', StringComparison.Ordinal) || key.StartsWith('[') || ConfigValueParsers.TrimSpace(key).Length == 0)
                {
                    throw new ArgumentException($"[Jumping] key `{key}` cannot be written to a config file", nameof(config));
                }
                Line(sb, Checked("[Jumping] key", key), Checked(key, config.Jumping[key]));
            }
        }
        return sb.ToString();
    }

    private static void Commands(StringBuilder sb, string key, IReadOnlyList<string> commands)
    {
        foreach (string c in commands)
        {
            Line(sb, key, Checked(key, c));
        }
    }

    private static void Line(StringBuilder sb, string key, string value) =>
        sb.Append(key).Append(" = ").Append(value).Append('\n');

    /// <summary>The format has no escaping: '#' starts a comment and a line break ends the value.</summary>
    private static string Checked(string key, string value) =>
        value.AsSpan().IndexOfAny('#', '\n', '\r') >= 0
            ? throw new ArgumentException($"{key} value `{value}` contains '#' or a line break, which a wg-quick file cannot hold", nameof(value))
            : value;
}
