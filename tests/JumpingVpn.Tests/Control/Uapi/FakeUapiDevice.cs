using System.Net;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;

namespace JumpingVpn.Tests.Control.Uapi;

/// <summary>
/// An in-memory <see cref="IUapiDevice"/> with wireguard-go's set semantics (replace_peers, remove,
/// update_only, replace_allowed_ips, all-zero keys remove), recording every request it receives.
/// </summary>
internal sealed class FakeUapiDevice : IUapiDevice
{
    private readonly Lock _lock = new();
    private readonly List<Peer> _peers = [];
    private readonly List<UapiSetRequest> _requests = [];

    public byte[]? PrivateKey { get; set; }
    public int ListenPort { get; set; }
    public uint FwMark { get; set; }

    /// <summary>When set, <see cref="Apply"/> returns this without changing anything.</summary>
    public UapiResult? FailWith { get; set; }

    public bool ThrowOnGet { get; set; }

    public IReadOnlyList<UapiSetRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public void AddPeer(UapiPeerSnapshot peer)
    {
        lock (_lock)
        {
            _peers.Add(new Peer(peer.PublicKey)
            {
                PresharedKey = peer.PresharedKey,
                Endpoint = peer.Endpoint,
                LastHandshakeUnixNs = peer.LastHandshakeUnixNs,
                TxBytes = peer.TxBytes,
                RxBytes = peer.RxBytes,
                Keepalive = peer.PersistentKeepaliveSeconds,
                AllowedIps = [.. peer.AllowedIps],
            });
        }
    }

    public UapiDeviceSnapshot GetSnapshot()
    {
        if (ThrowOnGet)
        {
            throw new InvalidOperationException("device is gone");
        }
        lock (_lock)
        {
            return new UapiDeviceSnapshot(PrivateKey, ListenPort, FwMark, [.. _peers.Select(p => p.ToSnapshot())]);
        }
    }

    public UapiResult Apply(UapiSetRequest request)
    {
        lock (_lock)
        {
            _requests.Add(request);
            if (FailWith is { } failure)
            {
                return failure;
            }
            if (request.PrivateKey is { } key)
            {
                PrivateKey = key.Length == 0 ? null : key;
            }
            ListenPort = request.ListenPort ?? ListenPort;
            FwMark = request.FwMark ?? FwMark;
            if (request.ReplacePeers)
            {
                _peers.Clear();
            }
            foreach (UapiPeerChange change in request.Peers)
            {
                Peer? peer = _peers.Find(p => p.PublicKey.AsSpan().SequenceEqual(change.PublicKey));
                if (change.Remove)
                {
                    if (peer is not null)
                    {
                        _peers.Remove(peer);
                    }
                    continue;
                }
                if (peer is null)
                {
                    if (change.UpdateOnly)
                    {
                        continue;
                    }
                    peer = new Peer(change.PublicKey);
                    _peers.Add(peer);
                }
                if (change.PresharedKey is { } psk)
                {
                    peer.PresharedKey = psk.AsSpan().IndexOfAnyExcept((byte)0) < 0 ? null : psk;
                }
                peer.Endpoint = change.Endpoint ?? peer.Endpoint;
                peer.Keepalive = change.PersistentKeepaliveSeconds ?? peer.Keepalive;
                if (change.ReplaceAllowedIps)
                {
                    peer.AllowedIps.Clear();
                }
                foreach (IpPrefix prefix in change.AllowedIps)
                {
                    if (!peer.AllowedIps.Contains(prefix))
                    {
                        peer.AllowedIps.Add(prefix);
                    }
                }
            }
            return UapiResult.Ok;
        }
    }

    private sealed class Peer(byte[] publicKey)
    {
        public byte[] PublicKey { get; } = publicKey;
        public byte[]? PresharedKey { get; set; }
        public IPEndPoint? Endpoint { get; set; }
        public long LastHandshakeUnixNs { get; set; }
        public ulong TxBytes { get; set; }
        public ulong RxBytes { get; set; }
        public int Keepalive { get; set; }
        public List<IpPrefix> AllowedIps { get; init; } = [];

        public UapiPeerSnapshot ToSnapshot() =>
            new(PublicKey, PresharedKey, Endpoint, LastHandshakeUnixNs, TxBytes, RxBytes, Keepalive, [.. AllowedIps]);
    }
}
