using System.Globalization;
using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Provisioning;

/// <summary>What `jvpn server init` was asked for.</summary>
public sealed record ServerInitOptions
{
    /// <summary>The server's tunnel address with the pool's prefix length ("10.77.0.1/24"); peers get
    /// addresses from this subnet.</summary>
    public required IReadOnlyList<InterfaceAddress> Addresses { get; init; }

    public int ListenPort { get; init; } = ServerInit.DefaultPort;

    /// <summary>The public HOST[:PORT] clients dial; null when not known yet (add-peer then needs it).</summary>
    public ConfigEndpoint? Endpoint { get; init; }
}

/// <summary>The text of a new server config and its public key.</summary>
public sealed record ServerInitResult(string ConfigText, byte[] PublicKey);

/// <summary>
/// Builds the server config `jvpn server init` writes: [Interface] with a fresh private key, Address and
/// ListenPort, and a [Jumping] `Endpoint` entry recording the public endpoint for `add-peer` (the session
/// policy parser skips that key, SessionPolicyParser.NonPolicyKeys).
/// </summary>
public static class ServerInit
{
    public const int DefaultPort = 51820;
    public const string DefaultAddress = "10.77.0.1/24";
    public const string DefaultConfigPath = "/etc/jvpn/jvpn0.conf";

    /// <summary>[Jumping] key holding the public endpoint clients use (lower-cased by the parser).</summary>
    internal const string EndpointKey = "endpoint";

    public static ServerInitResult Create(ServerInitOptions options, Action<Span<byte>>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Addresses.Count == 0)
        {
            throw new ArgumentException("the server needs at least one tunnel address", nameof(options));
        }
        byte[] privateKey = new byte[X25519.KeySize];
        X25519.GeneratePrivateKey(privateKey, random);
        byte[] publicKey = new byte[X25519.KeySize];
        X25519.DerivePublicKey(privateKey, publicKey);

        var jumping = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options.Endpoint is ConfigEndpoint ep)
        {
            jumping["Endpoint"] = ep.ToString();
        }
        string body = TunnelConfigWriter.Write(new TunnelConfig
        {
            InterfaceName = "jvpn0",
            Interface = new InterfaceSection
            {
                PrivateKey = privateKey,
                Addresses = options.Addresses,
                ListenPort = options.ListenPort,
            },
            Jumping = jumping,
        });

        var sb = new StringBuilder();
        sb.Append("# jvpn server configuration, written by `jvpn server init`.\n");
        sb.Append("# Public key: ").Append(WireGuardKey.ToBase64(publicKey)).Append('\n');
        sb.Append(options.Endpoint is ConfigEndpoint e
            ? $"# Clients connect to {e} ([Jumping] Endpoint below, copied into every client config).\n"
            : "# No public endpoint recorded: pass --endpoint HOST[:PORT] to `jvpn server add-peer`, or add\n# `Endpoint = HOST:PORT` under a [Jumping] section.\n");
        sb.Append("# Add clients with `jvpn server add-peer NAME --config THIS_FILE`; each appends a [Peer] below.\n");
        sb.Append(body);
        if (options.Endpoint is not null)
        {
            // Keep the comment next to the key it explains: the writer puts [Jumping] last.
            sb.Replace("\n[Jumping]\n", "\n[Jumping]\n# Public endpoint clients dial (read by `jvpn server add-peer`; not a WireGuard key).\n");
        }
        return new ServerInitResult(sb.ToString(), publicKey);
    }

    /// <summary>Parses --address: comma-separated ADDRESS/PREFIX entries, as wg-quick's Address.</summary>
    /// <exception cref="ConfigException">An entry is not an address with a prefix length, or there is none.</exception>
    public static IReadOnlyList<InterfaceAddress> ParseAddresses(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<InterfaceAddress>();
        foreach (string entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            list.Add(ConfigValueParsers.TryParseInterfaceAddress(entry, out InterfaceAddress a, out _) && entry.Contains('/', StringComparison.Ordinal)
                ? a
                : throw new ConfigException(null, null, "--address", $"`{entry}` is not ADDRESS/PREFIX (e.g. 10.77.0.1/24 or fd77::1/64); the prefix sizes the client pool"));
        }
        return list.Count > 0 ? list : throw new ConfigException(null, null, "--address", "is empty; give e.g. 10.77.0.1/24");
    }

    /// <summary>
    /// Parses --endpoint: "HOST", "HOST:PORT", "IPv6", "[IPv6]" or "[IPv6]:PORT"; a missing port is the
    /// server's ListenPort.
    /// </summary>
    /// <exception cref="ConfigException">Not a host or address with an optional port.</exception>
    public static ConfigEndpoint ParseEndpoint(string text, int defaultPort)
    {
        ArgumentNullException.ThrowIfNull(text);
        string value = text.Trim();
        string port = defaultPort.ToString(CultureInfo.InvariantCulture);
        if (value.StartsWith('[') && value.EndsWith(']'))
        {
            value += ":" + port;
        }
        else if (!value.StartsWith('['))
        {
            int colons = value.AsSpan().Count(':');
            // No colon: a bare host. Two or more without brackets: a bare IPv6 literal (ambiguous with a port
            // suffix, so we read it as an address; use [addr]:port to give a port).
            if (colons == 0)
            {
                value += ":" + port;
            }
            else if (colons > 1 && System.Net.IPAddress.TryParse(value, out _))
            {
                value = "[" + value + "]:" + port;
            }
        }
        return ConfigValueParsers.TryParseEndpoint(value, out ConfigEndpoint? ep, out string error)
            ? ep
            : throw new ConfigException(null, null, "--endpoint", error);
    }
}
