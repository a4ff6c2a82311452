using System.Net;
using JumpingVpn.Platform.Net;
using static JumpingVpn.Control.Config.ConfigValueParsers;

namespace JumpingVpn.Control.Config;

/// <summary>
/// The peers file (docs/scaling.md): a server's clients, one per line, so 100k peers load in seconds
/// instead of through 100k wg-quick [Peer] sections. A config names it in its [Jumping] section
/// (`Peers = /etc/jvpn/jv0.peers`, relative to the config file's directory). Format:
/// <code>
/// # comment
/// PUBLIC_KEY  ALLOWED_IPS  [PRESHARED_KEY]
/// </code>
/// PUBLIC_KEY and PRESHARED_KEY are base64 as `wg pubkey`/`wg genpsk` print them; ALLOWED_IPS is a
/// comma-separated list without spaces (10.64.0.2/32,fd00::2/128). Fields are separated by spaces or
/// tabs. Peers from the file have no endpoint: they are clients of this server. A duplicate public key
/// (in the file or against a [Peer] section) is an error naming both lines.
/// </summary>
public static class PeersFile
{
    /// <summary>The [Jumping] key naming the file (lower-cased as the section parser stores keys).</summary>
    public const string ConfigKey = "peers";

    public static IReadOnlyList<PeerSection> Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new ConfigException(path, null, null, "does not exist (named by `Peers =` in [Jumping])");
        }
        try
        {
            using var reader = new StreamReader(path);
            return Parse(reader, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, null, null, "cannot be read: " + ConfigException.ReadFailure(e), e);
        }
    }

    /// <summary>Parses peers-file text; <paramref name="sourceName"/> names it in errors.</summary>
    public static IReadOnlyList<PeerSection> Parse(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var peers = new List<PeerSection>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        Span<Range> fields = stackalloc Range[4];
        while (reader.ReadLine() is string line)
        {
            lineNumber++;
            ReadOnlySpan<char> text = line.AsSpan();
            int hash = text.IndexOf('#');
            if (hash >= 0)
            {
                text = text[..hash];
            }
            text = text.Trim();
            if (text.IsEmpty)
            {
                continue;
            }
            int count = text.SplitAny(fields, " \t", StringSplitOptions.RemoveEmptyEntries);
            if (count is < 2 or > 3)
            {
                throw new ConfigException(sourceName, lineNumber, null,
                    "expected `PUBLIC_KEY ALLOWED_IPS [PRESHARED_KEY]` separated by spaces");
            }
            string publicKeyText = text[fields[0]].ToString();
            if (!TryParseKey(publicKeyText, "wg pubkey", out byte[]? publicKey, out string keyError))
            {
                throw new ConfigException(sourceName, lineNumber, "PublicKey", keyError);
            }
            if (seen.TryGetValue(publicKeyText, out int firstLine))
            {
                throw new ConfigException(sourceName, lineNumber, "PublicKey", $"duplicate peer (first on line {firstLine})");
            }
            seen[publicKeyText] = lineNumber;
            byte[]? psk = null;
            if (count == 3 && !TryParseKey(text[fields[2]].ToString(), "wg genpsk", out psk, out string pskError))
            {
                throw new ConfigException(sourceName, lineNumber, "PresharedKey", pskError);
            }
            peers.Add(new PeerSection
            {
                PublicKey = publicKey,
                PresharedKey = psk,
                AllowedIps = ParseAllowedIps(text[fields[1]], sourceName, lineNumber),
                Line = lineNumber,
            });
        }
        return peers;
    }

    private static List<IpPrefix> ParseAllowedIps(ReadOnlySpan<char> list, string sourceName, int lineNumber)
    {
        var result = new List<IpPrefix>(1);
        foreach (Range r in list.Split(','))
        {
            string entry = list[r].ToString();
            if (!TryParseAddressAndLength(entry, out IPAddress? address, out int length))
            {
                throw new ConfigException(sourceName, lineNumber, "AllowedIPs", entry.Length == 0
                    ? $"empty entry in `{list}` (stray comma?)"
                    : $"`{entry}` is not an IP address with optional /prefix-length (e.g. 10.64.0.2/32)");
            }
            result.Add(new IpPrefix(address, length));
        }
        return result;
    }

    /// <summary>Writes peers in the file format (used by the load generator and provisioning tools).</summary>
    public static void Write(TextWriter writer, IEnumerable<(byte[] PublicKey, string AllowedIps)> peers)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(peers);
        writer.WriteLine("# jvpn peers file: PUBLIC_KEY ALLOWED_IPS [PRESHARED_KEY] (docs/scaling.md)");
        foreach ((byte[] key, string allowed) in peers)
        {
            writer.Write(Convert.ToBase64String(key));
            writer.Write(' ');
            writer.WriteLine(allowed);
        }
    }

    /// <summary>
    /// Appends the peers file named by `[Jumping] Peers =` (if any) to <paramref name="config"/>'s peers,
    /// refusing a key that a [Peer] section already has.
    /// </summary>
    public static TunnelConfig Merge(TunnelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.Jumping.TryGetValue(ConfigKey, out string? named) || string.IsNullOrWhiteSpace(named))
        {
            return config;
        }
        string baseDir = config.SourcePath is { } src ? Path.GetDirectoryName(Path.GetFullPath(src)) ?? "." : ".";
        string path = Path.IsPathRooted(named.Trim()) ? named.Trim() : Path.Combine(baseDir, named.Trim());
        IReadOnlyList<PeerSection> filePeers = Load(path);
        var inConfig = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (PeerSection p in config.Peers)
        {
            inConfig[Convert.ToBase64String(p.PublicKey)] = p.Line;
        }
        foreach (PeerSection p in filePeers)
        {
            if (inConfig.TryGetValue(Convert.ToBase64String(p.PublicKey), out int line))
            {
                throw new ConfigException(path, p.Line, "PublicKey", $"this peer is also a [Peer] section (line {line} of {config.SourcePath})");
            }
        }
        var all = new List<PeerSection>(config.Peers.Count + filePeers.Count);
        all.AddRange(config.Peers);
        all.AddRange(filePeers);
        return config with { Peers = all };
    }
}
