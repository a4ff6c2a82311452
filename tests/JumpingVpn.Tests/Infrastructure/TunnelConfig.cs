using System.Globalization;
using System.Text;

namespace JumpingVpn.Tests.Infrastructure;

internal sealed record TunnelPeerConfig(
    string PublicKey,
    IReadOnlyList<string> AllowedIps,
    string? Endpoint = null,
    int? PersistentKeepalive = null,
    string? PresharedKey = null);

/// <summary>One side of a tunnel, rendered either as a wg-quick file (what `jvpn up` reads) or as the
/// plain `wg setconf` format, which has no Address/DNS/MTU lines.</summary>
internal sealed record TunnelConfig(
    string PrivateKey,
    IReadOnlyList<string> Addresses,
    IReadOnlyList<TunnelPeerConfig> Peers,
    int? ListenPort = null,
    int? Mtu = null,
    IReadOnlyDictionary<string, string>? Jumping = null,
    IReadOnlyList<string>? Dns = null)
{
    public string ToWgQuick() => Render(wgQuick: true);

    public string ToWgSetconf() => Render(wgQuick: false);

    private string Render(bool wgQuick)
    {
        var builder = new StringBuilder();
        builder.AppendLine("[Interface]");
        builder.AppendLine(CultureInfo.InvariantCulture, $"PrivateKey = {PrivateKey}");
        if (ListenPort is int port)
        {
            builder.AppendLine(CultureInfo.InvariantCulture, $"ListenPort = {port}");
        }
        if (wgQuick)
        {
            if (Addresses.Count > 0)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"Address = {string.Join(", ", Addresses)}");
            }
            if (Mtu is int mtu)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"MTU = {mtu}");
            }
            if (Dns is { Count: > 0 })
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"DNS = {string.Join(", ", Dns)}");
            }
        }
        foreach (TunnelPeerConfig peer in Peers)
        {
            builder.AppendLine();
            builder.AppendLine("[Peer]");
            builder.AppendLine(CultureInfo.InvariantCulture, $"PublicKey = {peer.PublicKey}");
            if (peer.PresharedKey is not null)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"PresharedKey = {peer.PresharedKey}");
            }
            builder.AppendLine(CultureInfo.InvariantCulture, $"AllowedIPs = {string.Join(", ", peer.AllowedIps)}");
            if (peer.Endpoint is not null)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"Endpoint = {peer.Endpoint}");
            }
            if (peer.PersistentKeepalive is int keepalive)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"PersistentKeepalive = {keepalive}");
            }
        }
        if (wgQuick && Jumping is { Count: > 0 })
        {
            builder.AppendLine();
            builder.AppendLine("[Jumping]");
            foreach ((string key, string value) in Jumping)
            {
                builder.AppendLine(CultureInfo.InvariantCulture, $"{key} = {value}");
            }
        }
        return builder.ToString();
    }
}
