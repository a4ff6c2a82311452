using System.Net;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// A parsed UAPI <c>set=1</c> request: a list of changes, applied in order (xplatform "Configuration
/// Protocol"). Null properties mean "leave unchanged".
/// </summary>
public sealed class UapiSetRequest
{
    /// <summary>New private key (32 bytes); an empty array means "remove the key" (the wire's all-zero key).</summary>
    public byte[]? PrivateKey { get; set; }

    public int? ListenPort { get; set; }

    /// <summary>0 turns the mark off (wg(8) sends <c>fwmark=0</c> for "fwmark off").</summary>
    public uint? FwMark { get; set; }

    /// <summary>Remove every existing peer before the <see cref="Peers"/> changes are applied.</summary>
    public bool ReplacePeers { get; set; }

    /// <summary>Per-peer changes in wire order. The spec says a public key may not repeat within one
    /// message; the parser does not enforce that (wireguard-go does not either), so a device applying the
    /// list in order gets wireguard-go's behaviour.</summary>
    public List<UapiPeerChange> Peers { get; } = [];
}

/// <summary>Changes to one peer, introduced on the wire by a <c>public_key=</c> line.</summary>
public sealed class UapiPeerChange
{
    public UapiPeerChange(byte[] publicKey)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        PublicKey = publicKey;
    }

    public byte[] PublicKey { get; }

    /// <summary>Remove this peer; every other field is then meaningless.</summary>
    public bool Remove { get; set; }

    /// <summary>Apply only if the peer already exists; never create it.</summary>
    public bool UpdateOnly { get; set; }

    /// <summary>New preshared key (32 bytes); all zeros means "remove the preshared key".</summary>
    public byte[]? PresharedKey { get; set; }

    public IPEndPoint? Endpoint { get; set; }

    /// <summary>Seconds, 0 turns persistent keepalive off.</summary>
    public int? PersistentKeepaliveSeconds { get; set; }

    /// <summary>Remove the peer's existing allowed IPs before adding <see cref="AllowedIps"/>.</summary>
    public bool ReplaceAllowedIps { get; set; }

    /// <summary>Allowed IPs to add (after the removal that <see cref="ReplaceAllowedIps"/> asks for).</summary>
    public List<IpPrefix> AllowedIps { get; } = [];
}
