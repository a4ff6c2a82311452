using System.Globalization;
using System.Text;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// Everything read from the store is untrusted input for a node (docs/cluster.md "The store is untrusted
/// input"): whoever can write to Redis can write any bytes into a record. Each check answers null for a
/// well-formed value or a short problem that quotes at most a bounded, control-character-free excerpt of
/// the value, so a hostile record cannot flood or forge log lines. No exceptions: callers count and drop.
/// </summary>
public static class StoreRecordCheck
{
    /// <summary>Inner addresses of one client: more is not a client but a routing table.</summary>
    public const int MaxInnerPrefixes = 16;

    /// <summary>Allowed IPs of one registry peer.</summary>
    public const int MaxRegistryPrefixes = 64;

    public const int MaxNodeIdLength = 128;

    public const int MaxPolicyVersionLength = 128;

    /// <summary>Unix ms bound for every time in a record (year 6429): beyond it a value is not a time.</summary>
    public const long MaxUnixMs = 1L << 47;

    /// <summary>A session record; null when every field is within its limits.</summary>
    public static string? Problem(OwnershipRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (!IsPublicKey(r.PeerKey))
        {
            return "peer key " + Excerpt(r.PeerKey) + " is not a base64 WireGuard key";
        }
        if (NodeIdProblem(r.OwnerNode) is { } node)
        {
            return "owner " + node;
        }
        if (r.OwnerEpoch == 0 || r.OwnerNodeEpoch == 0)
        {
            return "owner epoch or owner node epoch 0";
        }
        if (!Enum.IsDefined(r.State))
        {
            return "state " + ((int)r.State).ToString(CultureInfo.InvariantCulture) + " is not a session state";
        }
        if (!Enum.IsDefined(r.LastReason))
        {
            return "reason " + ((int)r.LastReason).ToString(CultureInfo.InvariantCulture) + " is not a reason code";
        }
        if (r.Binding.Length > 0 && !TransportAddress.TryParse(r.Binding, out _))
        {
            return "binding " + Excerpt(r.Binding) + " is not ip:port";
        }
        if (InnerProblem(r.InnerAddresses, MaxInnerPrefixes, out _) is { } inner)
        {
            return "inner addresses: " + inner;
        }
        if (r.PolicyVersion.Length > MaxPolicyVersionLength || !IsPrintable(r.PolicyVersion))
        {
            return "policy version " + Excerpt(r.PolicyVersion) + " is not printable text";
        }
        if (r.CreatedUnixMs is <= 0 or >= MaxUnixMs || r.UnboundSinceUnixMs is < -1 or >= MaxUnixMs)
        {
            return "a time is out of range";
        }
        if (r.TotalSwitches < 0)
        {
            return "negative switch count";
        }
        return null;
    }

    /// <summary>A node id as the node registry and ownership records carry it.</summary>
    public static string? NodeIdProblem(string node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.Length is 0 or > MaxNodeIdLength)
        {
            return "node id " + Excerpt(node) + " is empty or longer than " + MaxNodeIdLength.ToString(CultureInfo.InvariantCulture);
        }
        foreach (char c in node)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '/' or '@'))
            {
                return "node id " + Excerpt(node) + " has characters outside [A-Za-z0-9.-_:/@]";
            }
        }
        return null;
    }

    /// <summary>
    /// A comma-separated list of IP prefixes in their canonical spelling (as jvpn writes them), at most
    /// <paramref name="max"/>; the parsed prefixes on success.
    /// </summary>
    public static string? InnerProblem(string text, int max, out List<IpPrefix> prefixes)
    {
        ArgumentNullException.ThrowIfNull(text);
        prefixes = [];
        if (text.Length == 0)
        {
            return null;
        }
        if (text.Length > max * 44)
        {
            return Excerpt(text) + " is too long";
        }
        foreach (string part in text.Split(','))
        {
            string p = part.Trim();
            if (!IpPrefix.TryParse(p, out IpPrefix? prefix) || !string.Equals(prefix.Value.ToString(), p, StringComparison.Ordinal))
            {
                return Excerpt(p) + " is not an IP prefix";
            }
            if (prefixes.Count == max)
            {
                return "more than " + max.ToString(CultureInfo.InvariantCulture) + " prefixes";
            }
            prefixes.Add(prefix.Value);
        }
        return null;
    }

    /// <summary>A registry entry: a WireGuard key and its allowed IPs.</summary>
    public static string? PeerProblem(RegisteredPeer peer, out List<IpPrefix> prefixes)
    {
        ArgumentNullException.ThrowIfNull(peer);
        prefixes = [];
        if (!IsPublicKey(peer.PublicKey))
        {
            return "registry key " + Excerpt(peer.PublicKey) + " is not a base64 WireGuard key";
        }
        return InnerProblem(peer.AllowedIps, MaxRegistryPrefixes, out prefixes) is { } p ? "registry peer " + Excerpt(peer.PublicKey) + ": " + p : null;
    }

    /// <summary>A node's heartbeat record (liveness, `jvpn cluster status`, drain targets).</summary>
    public static string? NodeProblem(ClusterNodeInfo node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (NodeIdProblem(node.NodeId) is { } id)
        {
            return id;
        }
        if (node.NodeEpoch == 0)
        {
            return "node " + Excerpt(node.NodeId) + " has node epoch 0";
        }
        if (node.Endpoint.Length > 0 && !TransportAddress.TryParse(node.Endpoint, out _))
        {
            return "endpoint " + Excerpt(node.Endpoint) + " of node " + Excerpt(node.NodeId) + " is not ip:port";
        }
        return node.SeenUnixMs is < 0 or >= MaxUnixMs ? "a node time is out of range" : null;
    }

    public static bool IsPublicKey(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Span<byte> key = stackalloc byte[33];
        return text.Length == 44 && Convert.TryFromBase64String(text, key, out int n) && n == 32;
    }

    /// <summary>At most 32 characters of <paramref name="value"/>, control characters as '?', quoted, with its length when cut.</summary>
    public static string Excerpt(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder("'");
        foreach (char c in value.AsSpan(0, Math.Min(value.Length, 32)))
        {
            sb.Append(char.IsControl(c) || c is '\'' ? '?' : c);
        }
        sb.Append('\'');
        if (value.Length > 32)
        {
            sb.Append(CultureInfo.InvariantCulture, $"... ({value.Length} chars)");
        }
        return sb.ToString();
    }

    private static bool IsPrintable(string s)
    {
        foreach (char c in s)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }
        return true;
    }
}
