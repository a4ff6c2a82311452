using JumpingVpn.Control.Config;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Sessions;
using JumpingVpn.Control.Uapi.Transport;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Control.Provisioning;

/// <summary>How adding a peer to the running interface went.</summary>
public enum LivePeerOutcome
{
    /// <summary>No interface of that name is running; the peer takes effect at the next `jvpn up`.</summary>
    NotRunning,
    Added,
}

/// <summary>
/// Adds a provisioned peer to a running interface through its UAPI socket (xplatform configuration
/// protocol `set=1`), so the server needs no restart, as `wg set` / `wg syncconf` would do.
/// </summary>
public static class LivePeer
{
    /// <exception cref="UapiException">The interface answered with an error.</exception>
    public static LivePeerOutcome Add(string interfaceName, PeerSection peer, string? socketDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (!UapiTransports.For(socketDirectory).Exists(interfaceName))
        {
            return LivePeerOutcome.NotRunning;
        }
        var change = new UapiPeerChange(peer.PublicKey) { PresharedKey = peer.PresharedKey };
        foreach (IpPrefix p in peer.AllowedIps)
        {
            change.AllowedIps.Add(p);
        }
        var request = new UapiSetRequest();
        request.Peers.Add(change);
        int errno;
        try
        {
            errno = UapiClient.Set(interfaceName, request, socketDirectory);
        }
        catch (UapiInterfaceNotRunningException)
        {
            return LivePeerOutcome.NotRunning; // a stale socket left by a crashed daemon
        }
        if (errno == 0 && peer.Name is { } name && PeerNamesReply.IsUsableName(name))
        {
            NameLive(interfaceName, peer.PublicKey, name, socketDirectory);
        }
        return errno == 0
            ? LivePeerOutcome.Added
            : throw new UapiException($"interface {interfaceName} refused the new peer (errno {errno}); it is in the config file and takes effect at the next `jvpn up`", errno);
    }

    /// <summary>
    /// Tells the running interface the new peer's name for `jvpn status` (docs/design.md §7 "Peer names"). A device
    /// without the extension (an older jvpn) refuses it; the peer then shows its name after the next `jvpn up`.
    /// </summary>
    private static void NameLive(string interfaceName, byte[] publicKey, string name, string? socketDirectory)
    {
        try
        {
            _ = UapiClient.Request(interfaceName, PeerNamesReply.SetRequest(publicKey, name), socketDirectory);
        }
        catch (UapiException)
        {
            // The peer is added and in the file; only its label waits for the next start.
        }
    }
}
