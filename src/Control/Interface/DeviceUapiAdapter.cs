using System.Net;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Device;

namespace JumpingVpn.Control.Interface;

/// <summary>
/// Presents a running <see cref="WireGuardDevice"/> through the UAPI seam, so `wg show` / `wg set` and
/// `jvpn status` read and change the live interface (xplatform "Configuration Protocol").
/// </summary>
internal sealed class DeviceUapiAdapter(WireGuardDevice device, Func<int> listenPort, bool dualMode, Action<uint>? onFwMark = null) : IUapiDevice
{
    private uint _fwMark;

    public uint FwMark
    {
        get => _fwMark;
        set => _fwMark = value;
    }

    public UapiDeviceSnapshot GetSnapshot()
    {
        var peers = new List<UapiPeerSnapshot>();
        Dictionary<Peer, List<IpPrefix>> prefixes = device.AllowedIps.PrefixesByOwner();
        foreach (Peer peer in device.Peers)
        {
            byte[] psk = WireGuardDevice.GetPresharedKey(peer);
            peers.Add(new UapiPeerSnapshot(
                peer.PublicKey,
                psk.AsSpan().IndexOfAnyExcept((byte)0) < 0 ? null : psk,
                peer.Endpoint is { } ep ? EndpointCodec.ToIPEndPoint(ep) : null,
                peer.LastHandshakeUnixNs,
                (ulong)peer.TxBytes,
                (ulong)peer.RxBytes,
                peer.Timers.PersistentKeepaliveSeconds,
                prefixes.TryGetValue(peer, out List<IpPrefix>? mine) ? mine : []));
        }
        return new UapiDeviceSnapshot(device.CopyPrivateKey(), listenPort(), _fwMark, peers);
    }

    public UapiResult Apply(UapiSetRequest request)
    {
        if (request.PrivateKey is { } key)
        {
            if (key.Length == 0)
            {
                return UapiResult.Error(UapiErrno.Invalid, "removing the private key of a running jvpn interface is not supported");
            }
            device.SetPrivateKey(key);
        }
        if (request.ListenPort is int port && port != listenPort() && port != 0)
        {
            return UapiResult.Error(UapiErrno.Invalid,
                $"changing listen-port ({listenPort()} -> {port}) of a running jvpn interface is not supported; restart it with the new ListenPort");
        }
        if (request.FwMark is uint mark)
        {
            _fwMark = mark;
            onFwMark?.Invoke(mark);
        }
        if (request.ReplacePeers)
        {
            device.RemoveAllPeers();
        }
        foreach (UapiPeerChange change in request.Peers)
        {
            if (change.Remove)
            {
                device.RemovePeer(change.PublicKey);
                continue;
            }
            Peer? peer = device.FindPeer(change.PublicKey);
            if (peer is null)
            {
                if (change.UpdateOnly)
                {
                    continue;
                }
                peer = device.AddPeer(change.PublicKey, change.PresharedKey ?? new byte[32]);
            }
            else if (change.PresharedKey is { } psk)
            {
                WireGuardDevice.SetPresharedKey(peer, psk);
            }
            if (change.Endpoint is IPEndPoint endpoint)
            {
                WireGuardDevice.SetEndpoint(peer, endpoint, dualMode);
            }
            if (change.PersistentKeepaliveSeconds is int keepalive)
            {
                peer.Timers.PersistentKeepaliveSeconds = keepalive;
                if (keepalive > 0)
                {
                    device.SendKeepalive(peer); // wireguard-go sends one at once when it is switched on
                }
            }
            if (change.ReplaceAllowedIps)
            {
                device.AllowedIps.RemoveAll(peer);
            }
            foreach (IpPrefix prefix in change.AllowedIps)
            {
                device.AddAllowedIp(peer, prefix);
            }
        }
        return UapiResult.Ok;
    }
}
