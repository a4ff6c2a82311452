using System.Collections.Concurrent;
using JumpingVpn.Control.Config;

namespace JumpingVpn.Ui.Tunnel;

/// <summary>
/// A tunnel's inner addresses, read from its config (UAPI does not carry them: wg-quick and jvpn put them on the
/// interface from the [Interface] Address line). Parsed once per change of the file, since a server's config may
/// name a peers file of 100k clients.
/// </summary>
internal sealed class TunnelAddresses
{
    private readonly ConcurrentDictionary<string, (DateTime Written, IReadOnlyList<string> Addresses)> _cache = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Of(string configPath)
    {
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(configPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        if (_cache.TryGetValue(configPath, out var cached) && cached.Written == written)
        {
            return cached.Addresses;
        }
        IReadOnlyList<string> addresses;
        try
        {
            addresses = [.. TunnelConfigParser.ParseFile(configPath).Interface.Addresses.Select(a => a.ToString())];
        }
        catch (ConfigException)
        {
            addresses = []; // the Tunnels page shows the config's errors; here the addresses are just unknown
        }
        _cache[configPath] = (written, addresses);
        return addresses;
    }
}
