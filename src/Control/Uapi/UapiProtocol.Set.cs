using System.Globalization;
using System.Net;
using System.Text;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Uapi;

public static partial class UapiProtocol
{
    /// <summary>
    /// Parses the body of a <c>set=1</c> request: the key=value lines after the operation line, up to the
    /// blank line (a leading <c>set=1</c> line is skipped; parsing stops at the first empty line).
    /// Device keys (private_key, listen_port, fwmark, replace_peers) must come before the first
    /// public_key; every line after it belongs to that peer until the next public_key (xplatform).
    /// On failure <paramref name="request"/> holds what was parsed before the bad line,
    /// <paramref name="errno"/> is <see cref="UapiErrno.Protocol"/> for a line without '=' and
    /// <see cref="UapiErrno.Invalid"/> for a bad key or value, the codes wireguard-go uses.
    /// </summary>
    public static bool TryParseSet(IEnumerable<string> lines, out UapiSetRequest request, out int errno, out string error)
    {
        ArgumentNullException.ThrowIfNull(lines);
        request = new UapiSetRequest();
        UapiPeerChange? peer = null;
        bool first = true;
        int lineNumber = 0;

        foreach (string line in lines)
        {
            lineNumber++;
            if (first && line == SetOperation)
            {
                first = false;
                continue;
            }
            first = false;
            if (line.Length == 0)
            {
                break;
            }
            if (!TrySplit(line, out string key, out string value))
            {
                // Never echo the line: a key pasted without its "private_key=" would end up in the log.
                return Fail(UapiErrno.Protocol, NoEqualsSign(lineNumber, line), out errno, out error);
            }

            string? problem;
            if (key == "public_key")
            {
                if (!WireGuardKey.TryParseHex(value, out byte[]? publicKey))
                {
                    return Fail(UapiErrno.Invalid, $"invalid public_key '{value}'", out errno, out error);
                }
                peer = new UapiPeerChange(publicKey);
                request.Peers.Add(peer);
                continue;
            }
            problem = peer is null ? ParseDeviceLine(request, key, value) : ParsePeerLine(peer, key, value);
            if (problem is not null)
            {
                return Fail(UapiErrno.Invalid, problem, out errno, out error);
            }
        }

        errno = UapiErrno.None;
        error = string.Empty;
        return true;
    }

    /// <returns>null when the line was applied to <paramref name="request"/>, else why not.</returns>
    private static string? ParseDeviceLine(UapiSetRequest request, string key, string value)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        switch (key)
        {
            case "private_key":
                if (!WireGuardKey.TryParseHex(value, out byte[]? privateKey))
                {
                    return "invalid private_key";
                }
                // "The value may be an all zero string in the case of a set operation, in which case it
                // indicates that the private key should be removed." (xplatform)
                request.PrivateKey = IsAllZero(privateKey) ? [] : privateKey;
                return null;
            case "listen_port":
                if (!ushort.TryParse(value, NumberStyles.None, inv, out ushort port))
                {
                    return $"invalid listen_port '{value}'";
                }
                request.ListenPort = port;
                return null;
            case "fwmark":
                if (!uint.TryParse(value, NumberStyles.None, inv, out uint mark))
                {
                    return $"invalid fwmark '{value}'";
                }
                request.FwMark = mark;
                return null;
            case "replace_peers":
                if (value != "true")
                {
                    return $"invalid replace_peers value '{value}' (only 'true' is allowed)";
                }
                request.ReplacePeers = true;
                return null;
            default:
                return $"invalid UAPI device key '{key}'";
        }
    }

    private static string? ParsePeerLine(UapiPeerChange peer, string key, string value)
    {
        switch (key)
        {
            case "update_only":
                if (value != "true")
                {
                    return $"invalid update_only value '{value}' (only 'true' is allowed)";
                }
                peer.UpdateOnly = true;
                return null;
            case "remove":
                if (value != "true")
                {
                    return $"invalid remove value '{value}' (only 'true' is allowed)";
                }
                peer.Remove = true;
                return null;
            case "preshared_key":
                if (!WireGuardKey.TryParseHex(value, out byte[]? psk))
                {
                    return "invalid preshared_key";
                }
                peer.PresharedKey = psk;
                return null;
            case "endpoint":
                if (!UapiEndpoint.TryParse(value, out IPEndPoint? endpoint))
                {
                    return $"invalid endpoint '{value}' (expected IPv4:port or [IPv6]:port)";
                }
                peer.Endpoint = endpoint;
                return null;
            case "persistent_keepalive_interval":
                if (!ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ushort seconds))
                {
                    return $"invalid persistent_keepalive_interval '{value}'";
                }
                peer.PersistentKeepaliveSeconds = seconds;
                return null;
            case "replace_allowed_ips":
                if (value != "true")
                {
                    return $"invalid replace_allowed_ips value '{value}' (only 'true' is allowed)";
                }
                peer.ReplaceAllowedIps = true;
                return null;
            case "allowed_ip":
                // The wire always carries the length (wg(8) prints "%s/%d"); a bare address is an error
                // here, as in wireguard-go's netip.ParsePrefix.
                if (!value.Contains('/', StringComparison.Ordinal) || !IpPrefix.TryParse(value, out IpPrefix? prefix))
                {
                    return $"invalid allowed_ip '{value}'";
                }
                peer.AllowedIps.Add(prefix.Value);
                return null;
            case "protocol_version":
                return value == "1" ? null : $"invalid protocol_version '{value}' (only 1 is supported)";
            default:
                return $"invalid UAPI peer key '{key}'";
        }
    }

    /// <summary>
    /// The complete <c>set=1</c> request for <paramref name="request"/>, in the order wg(8) writes it
    /// (wireguard-tools userspace_set_device), ending with the blank line.
    /// </summary>
    public static string FormatSet(UapiSetRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CultureInfo inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder(64 + (request.Peers.Count * 256));
        sb.Append("set=1\n");
        if (request.PrivateKey is { } privateKey)
        {
            sb.Append("private_key=")
              .Append(privateKey.Length == 0 ? new string('0', WireGuardKey.Size * 2) : WireGuardKey.ToHex(privateKey))
              .Append('\n');
        }
        if (request.ListenPort is { } port)
        {
            sb.Append(inv, $"listen_port={port}\n");
        }
        if (request.FwMark is { } mark)
        {
            sb.Append(inv, $"fwmark={mark}\n");
        }
        if (request.ReplacePeers)
        {
            sb.Append("replace_peers=true\n");
        }
        foreach (UapiPeerChange peer in request.Peers)
        {
            sb.Append("public_key=").Append(WireGuardKey.ToHex(peer.PublicKey)).Append('\n');
            if (peer.Remove)
            {
                sb.Append("remove=true\n");
                continue;
            }
            if (peer.UpdateOnly)
            {
                sb.Append("update_only=true\n");
            }
            if (peer.PresharedKey is { } psk)
            {
                sb.Append("preshared_key=").Append(WireGuardKey.ToHex(psk)).Append('\n');
            }
            if (peer.Endpoint is { } endpoint)
            {
                sb.Append("endpoint=").Append(UapiEndpoint.Format(endpoint)).Append('\n');
            }
            if (peer.PersistentKeepaliveSeconds is { } keepalive)
            {
                sb.Append(inv, $"persistent_keepalive_interval={keepalive}\n");
            }
            if (peer.ReplaceAllowedIps)
            {
                sb.Append("replace_allowed_ips=true\n");
            }
            foreach (IpPrefix prefix in peer.AllowedIps)
            {
                sb.Append(inv, $"allowed_ip={prefix}\n");
            }
        }
        sb.Append('\n');
        return sb.ToString();
    }
}
