using System.Globalization;
using System.Net;
using System.Text;
using JumpingVpn.Control.Config;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Control.Provisioning;

/// <summary>What `jvpn server add-peer NAME` was asked for.</summary>
public sealed record AddPeerOptions
{
    /// <summary>Shown as a `# NAME` comment above the [Peer]; one line, no control characters.</summary>
    public required string Name { get; init; }

    /// <summary>Client tunnel addresses (host prefixes); null picks the next free one per server subnet.</summary>
    public IReadOnlyList<IPAddress>? Addresses { get; init; }

    public IReadOnlyList<IPAddress> Dns { get; init; } = [];

    /// <summary>What the client routes into the tunnel; default everything (0.0.0.0/0, ::/0).</summary>
    public IReadOnlyList<IpPrefix>? AllowedIps { get; init; }

    /// <summary>Overrides the [Jumping] Endpoint recorded in the server config.</summary>
    public ConfigEndpoint? Endpoint { get; init; }

    public int PersistentKeepalive { get; init; } = PeerProvisioning.DefaultKeepalive;
}

/// <summary>The outcome of adding a peer: the new server file text, the client's file text, and the
/// [Peer] as the server sees it (for adding it to a running interface).</summary>
public sealed record AddPeerResult(string ServerConfigText, string ClientConfigText, PeerSection ServerPeer, IReadOnlyList<IPAddress> ClientAddresses);

/// <summary>
/// `jvpn server add-peer`: generates the client's keys and a preshared key, allocates its address, and
/// produces both sides' configs. Sans-I/O: text in, text out, randomness injected.
/// </summary>
public static class PeerProvisioning
{
    /// <summary>25 s keeps NAT and stateful-firewall mappings alive (wg(8): "a sensible interval ... is 25").</summary>
    public const int DefaultKeepalive = 25;

    public static IReadOnlyList<IpPrefix> DefaultAllowedIps { get; } = [IpPrefix.Parse("0.0.0.0/0"), IpPrefix.Parse("::/0")];

    /// <param name="serverText">The server config file as it is now; the new peer is appended so comments and layout survive.</param>
    /// <param name="server">The same text, parsed.</param>
    /// <exception cref="ConfigException">No endpoint is known, the subnet is full, an explicit address is taken or outside the pool.</exception>
    /// <exception cref="PeerNameTakenException">A peer with this name is already in the file.</exception>
    public static AddPeerResult Add(string serverText, TunnelConfig server, AddPeerOptions options, Action<Span<byte>>? random = null)
    {
        ArgumentNullException.ThrowIfNull(serverText);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options);
        string source = server.SourcePath ?? server.InterfaceName;
        string name = ValidName(options.Name);
        if (HasPeerNamed(serverText, name))
        {
            throw new PeerNameTakenException(source, name);
        }
        ConfigEndpoint endpoint = options.Endpoint ?? RecordedEndpoint(server, source);
        IReadOnlyList<IPAddress> addresses = options.Addresses is { Count: > 0 } given
            ? CheckGiven(server, source, given)
            : Allocate(server, source);

        byte[] clientPrivate = new byte[X25519.KeySize];
        X25519.GeneratePrivateKey(clientPrivate, random);
        byte[] clientPublic = new byte[X25519.KeySize];
        X25519.DerivePublicKey(clientPrivate, clientPublic);
        byte[] psk = new byte[X25519.KeySize];
        (random ?? System.Security.Cryptography.RandomNumberGenerator.Fill)(psk);
        byte[] serverPublic = new byte[X25519.KeySize];
        X25519.DerivePublicKey(server.Interface.PrivateKey, serverPublic);

        var hostPrefixes = new List<IpPrefix>(addresses.Count);
        var clientAddresses = new List<InterfaceAddress>(addresses.Count);
        foreach (IPAddress a in addresses)
        {
            int max = IpPrefix.MaxLength(a.AddressFamily);
            hostPrefixes.Add(new IpPrefix(a, max));
            clientAddresses.Add(new InterfaceAddress(a, max));
        }
        var serverPeer = new PeerSection { PublicKey = clientPublic, PresharedKey = psk, AllowedIps = hostPrefixes };

        string peerText = TunnelConfigWriter.Write(new TunnelConfig
        {
            InterfaceName = server.InterfaceName,
            Interface = new InterfaceSection { PrivateKey = clientPrivate },
            Peers = [serverPeer],
        });
        // The writer always starts with [Interface]; keep only the [Peer] part for the server file.
        string peerBlock = peerText[(peerText.IndexOf("\n[Peer]\n", StringComparison.Ordinal) + 1)..];
        var newServer = new StringBuilder(serverText);
        if (newServer.Length > 0 && newServer[^1] != '\n')
        {
            newServer.Append('\n');
        }
        newServer.Append('\n').Append("# ").Append(name).Append('\n').Append(peerBlock);

        string clientBody = TunnelConfigWriter.Write(new TunnelConfig
        {
            InterfaceName = server.InterfaceName,
            Interface = new InterfaceSection
            {
                PrivateKey = clientPrivate,
                Addresses = clientAddresses,
                DnsServers = options.Dns,
            },
            Peers =
            [
                new PeerSection
                {
                    PublicKey = serverPublic,
                    PresharedKey = psk,
                    AllowedIps = options.AllowedIps is { Count: > 0 } allowed ? allowed : DefaultAllowedIps,
                    Endpoint = endpoint,
                    PersistentKeepalive = options.PersistentKeepalive,
                },
            ],
        });
        string client = $"# jvpn client configuration \"{name}\" for server {server.InterfaceName} ({endpoint}).\n"
            + "# Save as NAME.conf (the file name is the interface name) and run `jvpn up NAME.conf`, or import it into a WireGuard app.\n"
            + clientBody;
        return new AddPeerResult(newServer.ToString(), client, serverPeer with { Name = name }, addresses);
    }

    /// <summary>The server's tunnel subnets, one per address family (the first address of each family).</summary>
    internal static List<InterfaceAddress> Pools(TunnelConfig server)
    {
        var pools = new List<InterfaceAddress>(2);
        foreach (InterfaceAddress a in server.Interface.Addresses)
        {
            if (!pools.Exists(p => p.IsIPv6 == a.IsIPv6))
            {
                pools.Add(a);
            }
        }
        return pools;
    }

    /// <summary>Everything the server already routes or owns: its own addresses and every peer's AllowedIPs.</summary>
    internal static List<IpPrefix> Used(TunnelConfig server)
    {
        var used = new List<IpPrefix>();
        foreach (InterfaceAddress a in server.Interface.Addresses)
        {
            used.Add(new IpPrefix(a.Address, IpPrefix.MaxLength(a.Address.AddressFamily)));
        }
        foreach (PeerSection p in server.Peers)
        {
            used.AddRange(p.AllowedIps);
        }
        return used;
    }

    private static List<IPAddress> Allocate(TunnelConfig server, string source)
    {
        List<InterfaceAddress> pools = Pools(server);
        if (pools.Count == 0)
        {
            throw new ConfigException(source, null, "Address",
                "the server [Interface] has no Address, so there is no pool to take client addresses from; add `Address = 10.77.0.1/24` or pass --address");
        }
        List<IpPrefix> used = Used(server);
        var picked = new List<IPAddress>(pools.Count);
        foreach (InterfaceAddress pool in pools)
        {
            IPAddress next = AddressAllocator.NextFree(pool.Network, used)
                ?? throw new ConfigException(source, null, "Address",
                    $"no free address left in {pool.Network} (every host address is the server's or a peer's); widen the server Address prefix or pass --address");
            picked.Add(next);
        }
        return picked;
    }

    private static IReadOnlyList<IPAddress> CheckGiven(TunnelConfig server, string source, IReadOnlyList<IPAddress> given)
    {
        List<IpPrefix> used = Used(server);
        foreach (IPAddress a in given)
        {
            foreach (IpPrefix u in used)
            {
                if (u.Length > 0 && u.Contains(a))
                {
                    throw new ConfigException(null, null, "--address",
                        $"{a} is already used in {source} (covered by {u}); pick another or leave --address out to take the next free one");
                }
            }
        }
        return given;
    }

    private static ConfigEndpoint RecordedEndpoint(TunnelConfig server, string source)
    {
        if (!server.Jumping.TryGetValue(ServerInit.EndpointKey, out string? text))
        {
            throw new ConfigException(source, null, "Endpoint",
                "the server config records no public endpoint for clients; pass --endpoint HOST[:PORT], or add `Endpoint = HOST:PORT` under a [Jumping] section");
        }
        return ConfigValueParsers.TryParseEndpoint(ConfigValueParsers.RemoveSpace(text), out ConfigEndpoint? ep, out string error)
            ? ep
            : throw new ConfigException(source, null, "[Jumping] Endpoint", error);
    }

    private static string ValidName(string name)
    {
        string trimmed = name.Trim();
        if (trimmed.Length == 0 || trimmed.Length > 64 || trimmed.AsSpan().ContainsAnyInRange('\0', '\u001f') || trimmed.Contains('\u007f', StringComparison.Ordinal))
        {
            throw new ConfigException(null, null, "NAME",
                $"`{name}` is not a usable peer name: 1 to 64 printable characters, no line breaks");
        }
        return trimmed;
    }

    /// <summary>True when a `# NAME` comment line directly precedes a [Peer] header in the file.</summary>
    internal static bool HasPeerNamed(string text, string name)
    {
        string[] lines = text.Split('\n');
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.StartsWith('#') && line[1..].Trim().Equals(name, StringComparison.Ordinal)
                && ConfigValueParsers.RemoveSpace(lines[i + 1]).Equals("[Peer]", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>"10.77.0.2/32, fd77::2/128": the addresses as the server routes them.</summary>
    public static string Describe(IReadOnlyList<IPAddress> addresses)
    {
        var parts = new List<string>(addresses.Count);
        foreach (IPAddress a in addresses)
        {
            parts.Add(a.ToString() + "/" + IpPrefix.MaxLength(a.AddressFamily).ToString(CultureInfo.InvariantCulture));
        }
        return string.Join(", ", parts);
    }
}

/// <summary>`add-peer NAME` when a peer called NAME is already in the server config.</summary>
public sealed class PeerNameTakenException : Exception
{
    public PeerNameTakenException()
    {
    }

    public PeerNameTakenException(string message)
        : base(message)
    {
    }

    public PeerNameTakenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PeerNameTakenException(string source, string name)
        : base($"{source}: a peer named `{name}` already exists; choose another name (or delete its [Peer] section first)")
    {
    }
}
