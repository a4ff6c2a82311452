using System.Globalization;
using System.Net;
using System.Text;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Uapi;

public static partial class UapiProtocol
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    /// <summary>
    /// The complete answer to <c>get=1</c>, byte for byte what wireguard-go's IpcGetOperation prints:
    /// private_key (only if set), listen_port (only if non-zero), fwmark (only if non-zero), then per
    /// peer public_key, preshared_key (zeros when none), protocol_version=1, endpoint (only if known),
    /// last_handshake_time_sec, last_handshake_time_nsec, tx_bytes, rx_bytes,
    /// persistent_keepalive_interval, allowed_ip lines; then <c>errno=0</c> and a blank line.
    /// </summary>
    public static string FormatGet(UapiDeviceSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var sb = new StringBuilder(128 + (snapshot.Peers.Count * 512));
        CultureInfo inv = CultureInfo.InvariantCulture;

        if (snapshot.PrivateKey is { Length: WireGuardKey.Size } privateKey && !IsAllZero(privateKey))
        {
            sb.Append("private_key=").Append(WireGuardKey.ToHex(privateKey)).Append('\n');
        }
        if (snapshot.ListenPort != 0)
        {
            sb.Append(inv, $"listen_port={snapshot.ListenPort}\n");
        }
        if (snapshot.FwMark != 0)
        {
            sb.Append(inv, $"fwmark={snapshot.FwMark}\n");
        }

        foreach (UapiPeerSnapshot peer in snapshot.Peers)
        {
            sb.Append("public_key=").Append(WireGuardKey.ToHex(peer.PublicKey)).Append('\n');
            sb.Append("preshared_key=")
              .Append(peer.PresharedKey is { } psk ? WireGuardKey.ToHex(psk) : new string('0', WireGuardKey.Size * 2))
              .Append('\n');
            sb.Append("protocol_version=1\n");
            if (peer.Endpoint is { } endpoint)
            {
                sb.Append("endpoint=").Append(UapiEndpoint.Format(endpoint)).Append('\n');
            }
            long ns = Math.Max(0, peer.LastHandshakeUnixNs);
            sb.Append(inv, $"last_handshake_time_sec={ns / NanosecondsPerSecond}\n");
            sb.Append(inv, $"last_handshake_time_nsec={ns % NanosecondsPerSecond}\n");
            sb.Append(inv, $"tx_bytes={peer.TxBytes}\n");
            sb.Append(inv, $"rx_bytes={peer.RxBytes}\n");
            sb.Append(inv, $"persistent_keepalive_interval={peer.PersistentKeepaliveSeconds}\n");
            foreach (IpPrefix prefix in peer.AllowedIps)
            {
                sb.Append(inv, $"allowed_ip={prefix}\n");
            }
        }

        sb.Append("errno=0\n\n");
        return sb.ToString();
    }

    /// <summary>
    /// Parses a get answer (from jvpn or wireguard-go) back into a snapshot. Reads until the blank line
    /// or the end of <paramref name="lines"/>. Unknown keys are skipped, as wg(8) does, so forks that add
    /// keys still parse. Returns false with <paramref name="errno"/> set when the peer reported an error
    /// (its errno) or the answer is malformed (<see cref="UapiErrno.Protocol"/>).
    /// </summary>
    public static bool TryParseGet(IEnumerable<string> lines, out UapiDeviceSnapshot snapshot, out int errno, out string error)
    {
        ArgumentNullException.ThrowIfNull(lines);
        snapshot = new UapiDeviceSnapshot(null, 0, 0, []);
        byte[]? privateKey = null;
        int listenPort = 0;
        uint fwMark = 0;
        var peers = new List<UapiPeerSnapshot>();
        PeerBuilder? peer = null;
        int? remoteErrno = null;

        int lineNumber = 0;
        foreach (string line in lines)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                break;
            }
            if (!TrySplit(line, out string key, out string value))
            {
                return Fail(UapiErrno.Protocol, NoEqualsSign(lineNumber, line) + " in get response", out errno, out error);
            }
            bool ok = true;
            switch (key)
            {
                case "errno":
                    ok = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int e);
                    remoteErrno = e;
                    break;
                case "private_key" when peer is null:
                    ok = WireGuardKey.TryParseHex(value, out privateKey);
                    break;
                case "listen_port" when peer is null:
                    ok = ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ushort port);
                    listenPort = port;
                    break;
                case "fwmark" when peer is null:
                    ok = uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out fwMark);
                    break;
                case "public_key":
                    if (peer is not null)
                    {
                        peers.Add(peer.Build());
                    }
                    ok = WireGuardKey.TryParseHex(value, out byte[]? publicKey);
                    peer = ok ? new PeerBuilder(publicKey!) : null;
                    break;
                default:
                    ok = peer is null || peer.TrySet(key, value);
                    break;
            }
            if (!ok)
            {
                // The key name only: the value may be a private or preshared key.
                return Fail(UapiErrno.Protocol, $"invalid {key} value on line {lineNumber} of the get response", out errno, out error);
            }
        }
        if (peer is not null)
        {
            peers.Add(peer.Build());
        }

        if (remoteErrno is null)
        {
            return Fail(UapiErrno.Protocol, "get response has no errno line", out errno, out error);
        }
        if (remoteErrno.Value != 0)
        {
            return Fail(remoteErrno.Value, $"get failed with errno={remoteErrno.Value}", out errno, out error);
        }
        if (privateKey is not null && IsAllZero(privateKey))
        {
            privateKey = null;
        }
        snapshot = new UapiDeviceSnapshot(privateKey, listenPort, fwMark, peers);
        errno = UapiErrno.None;
        error = string.Empty;
        return true;
    }

    private static bool Fail(int code, string message, out int errno, out string error)
    {
        errno = code;
        error = message;
        return false;
    }

    /// <summary>Accumulates one peer of a get answer; keys it does not know are ignored.</summary>
    private sealed class PeerBuilder(byte[] publicKey)
    {
        private byte[]? _presharedKey;
        private IPEndPoint? _endpoint;
        private long _handshakeSec;
        private long _handshakeNsec;
        private ulong _tx;
        private ulong _rx;
        private int _keepalive;
        private readonly List<IpPrefix> _allowedIps = [];

        public bool TrySet(string key, string value)
        {
            CultureInfo inv = CultureInfo.InvariantCulture;
            switch (key)
            {
                case "preshared_key":
                    if (!WireGuardKey.TryParseHex(value, out byte[]? psk))
                    {
                        return false;
                    }
                    _presharedKey = IsAllZero(psk) ? null : psk;
                    return true;
                case "endpoint":
                    return UapiEndpoint.TryParse(value, out _endpoint);
                case "last_handshake_time_sec":
                    return long.TryParse(value, NumberStyles.None, inv, out _handshakeSec);
                case "last_handshake_time_nsec":
                    return long.TryParse(value, NumberStyles.None, inv, out _handshakeNsec);
                case "tx_bytes":
                    return ulong.TryParse(value, NumberStyles.None, inv, out _tx);
                case "rx_bytes":
                    return ulong.TryParse(value, NumberStyles.None, inv, out _rx);
                case "persistent_keepalive_interval":
                    bool ok = ushort.TryParse(value, NumberStyles.None, inv, out ushort seconds);
                    _keepalive = seconds;
                    return ok;
                case "allowed_ip":
                    if (!value.Contains('/', StringComparison.Ordinal) || !IpPrefix.TryParse(value, out IpPrefix? prefix))
                    {
                        return false;
                    }
                    _allowedIps.Add(prefix.Value);
                    return true;
                default:
                    return true; // protocol_version and keys from newer or forked implementations
            }
        }

        public UapiPeerSnapshot Build()
        {
            // Saturate instead of overflowing for handshakes absurdly far in the future.
            long ns = _handshakeSec > (long.MaxValue / NanosecondsPerSecond) - 1
                ? long.MaxValue
                : (_handshakeSec * NanosecondsPerSecond) + _handshakeNsec;
            return new UapiPeerSnapshot(publicKey, _presharedKey, _endpoint, ns, _tx, _rx, _keepalive, _allowedIps);
        }
    }
}
