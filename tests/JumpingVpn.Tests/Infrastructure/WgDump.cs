using System.Globalization;

namespace JumpingVpn.Tests.Infrastructure;

internal sealed record WgPeerStatus(
    string PublicKey,
    string Endpoint,
    string AllowedIps,
    DateTimeOffset? LatestHandshake,
    long TransferRx,
    long TransferTx);

/// <summary>`wg show IFNAME dump`, parsed: the first line is the interface (private-key public-key
/// listen-port fwmark), then one tab-separated line per peer (public-key preshared-key endpoint
/// allowed-ips latest-handshake transfer-rx transfer-tx persistent-keepalive).</summary>
internal sealed record WgDump(string PublicKey, int ListenPort, IReadOnlyList<WgPeerStatus> Peers)
{
    public static WgDump Read(NetNs ns, string interfaceName) =>
        Parse(ns.Exec("wg", "show", interfaceName, "dump").StandardOutput);

    public static WgDump Parse(string dump)
    {
        string[] lines = dump.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            throw new FormatException("empty wg dump");
        }
        string[] header = lines[0].Split('\t');
        if (header.Length < 3)
        {
            throw new FormatException($"bad wg dump interface line: {lines[0]}");
        }
        var peers = new List<WgPeerStatus>();
        for (int i = 1; i < lines.Length; i++)
        {
            string[] f = lines[i].Split('\t');
            if (f.Length < 8)
            {
                throw new FormatException($"bad wg dump peer line: {lines[i]}");
            }
            long handshake = long.Parse(f[4], CultureInfo.InvariantCulture);
            peers.Add(new WgPeerStatus(
                f[0],
                f[2],
                f[3],
                handshake == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(handshake),
                long.Parse(f[5], CultureInfo.InvariantCulture),
                long.Parse(f[6], CultureInfo.InvariantCulture)));
        }
        return new WgDump(header[1], int.Parse(header[2], CultureInfo.InvariantCulture), peers);
    }
}
