using System.Net;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Control.Uapi;

/// <summary>
/// What a UAPI <c>get=1</c> reports about a device: the same fields the Linux kernel module returns over
/// netlink (see wireguard.com/xplatform, "Configuration Protocol").
/// </summary>
/// <param name="PrivateKey">32 bytes, or null when the device has no private key yet.</param>
/// <param name="ListenPort">UDP port, 0 when not listening (then not printed, as wireguard-go does).</param>
/// <param name="FwMark">SO_MARK on the UDP sockets, 0 = off (then not printed).</param>
public sealed record UapiDeviceSnapshot(
    byte[]? PrivateKey,
    int ListenPort,
    uint FwMark,
    IReadOnlyList<UapiPeerSnapshot> Peers);

/// <summary>One peer in a <see cref="UapiDeviceSnapshot"/>.</summary>
/// <param name="PublicKey">32 bytes.</param>
/// <param name="PresharedKey">32 bytes, or null for none (printed as 64 zeros, as the protocol requires).</param>
/// <param name="Endpoint">Last known endpoint, or null when none is known yet.</param>
/// <param name="LastHandshakeUnixNs">Wall-clock time of the last completed handshake in nanoseconds
/// since the Unix epoch; 0 = never.</param>
/// <param name="PersistentKeepaliveSeconds">0 = off.</param>
public sealed record UapiPeerSnapshot(
    byte[] PublicKey,
    byte[]? PresharedKey,
    IPEndPoint? Endpoint,
    long LastHandshakeUnixNs,
    ulong TxBytes,
    ulong RxBytes,
    int PersistentKeepaliveSeconds,
    IReadOnlyList<IpPrefix> AllowedIps);
