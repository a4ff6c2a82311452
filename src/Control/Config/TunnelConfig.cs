namespace JumpingVpn.Control.Config;

/// <summary>
/// A parsed wg-quick configuration file (wg-quick(8), wg(8) CONFIGURATION FILE FORMAT) plus jvpn's
/// [Jumping] section. Build one with <see cref="TunnelConfigParser"/>, or in code (jvpn server add-peer)
/// and write it with <see cref="TunnelConfigWriter"/>.
/// </summary>
public sealed record TunnelConfig
{
    /// <summary>Interface name: the file name without ".conf", as wg-quick derives it.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>Path (or name) of the file the config was read from; null when built in code.</summary>
    public string? SourcePath { get; init; }

    public required InterfaceSection Interface { get; init; }

    public IReadOnlyList<PeerSection> Peers { get; init; } = [];

    /// <summary>
    /// [Jumping] section: jvpn session-layer policy. Keys are lower-cased; a repeated key's values are
    /// joined with ", " like other list keys. Not validated here: the session layer owns their meaning.
    /// </summary>
    public IReadOnlyDictionary<string, string> Jumping { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The line each [Jumping] key was last written on (lower-cased like <see cref="Jumping"/>), so the
    /// typed options read at load can name file, line and key (docs/configuration.md §1). Not part of
    /// the file format: <see cref="TunnelConfigWriter"/> ignores it, and a config built in code has none.
    /// </summary>
    public IReadOnlyDictionary<string, int> JumpingLines { get; init; } = new Dictionary<string, int>();

    /// <summary>A <see cref="ConfigException"/> about the [Jumping] key <paramref name="key"/> (spelled as
    /// the documentation spells it), located at the line it was written on when known.</summary>
    public ConfigException JumpingError(string key, string problem, Exception? innerException = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        int? line = JumpingLines.TryGetValue(key.ToLowerInvariant(), out int l) ? l : null;
        return new ConfigException(SourcePath, line, key, problem, innerException);
    }

    /// <summary>Things wg-quick/wg would warn about (world-accessible file, AllowedIPs with host bits set).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The [Interface] section: wg(8) keys (PrivateKey, ListenPort, FwMark) and wg-quick(8) keys.</summary>
public sealed record InterfaceSection
{
    /// <summary>32-byte Curve25519 private key.</summary>
    public required byte[] PrivateKey { get; init; }

    /// <summary>Addresses of the interface with their on-link prefix length (host bits kept).</summary>
    public IReadOnlyList<InterfaceAddress> Addresses { get; init; } = [];

    /// <summary>UDP port to listen on; 0 or null means "pick a random port".</summary>
    public int? ListenPort { get; init; }

    /// <summary>DNS entries that are IP addresses (wg-quick passes them to resolvconf as nameservers).</summary>
    public IReadOnlyList<System.Net.IPAddress> DnsServers { get; init; } = [];

    /// <summary>DNS entries that are not IP addresses: search domains, as wg-quick treats them.</summary>
    public IReadOnlyList<string> DnsSearch { get; init; } = [];

    /// <summary>Interface MTU; null means automatic (wg-quick: route MTU minus 80).</summary>
    public int? Mtu { get; init; }

    /// <summary>Firewall mark for outgoing packets; 0 ("off") disables it.</summary>
    public uint? FwMark { get; init; }

    /// <summary>Routing table: "off", "auto", a number or a name; null means auto.</summary>
    public string? Table { get; init; }

    public IReadOnlyList<string> PreUp { get; init; } = [];
    public IReadOnlyList<string> PostUp { get; init; } = [];
    public IReadOnlyList<string> PreDown { get; init; } = [];
    public IReadOnlyList<string> PostDown { get; init; } = [];

    /// <summary>wg-quick SaveConfig: write the running state back to the file on `down`.</summary>
    public bool SaveConfig { get; init; }
}

/// <summary>One [Peer] section.</summary>
public sealed record PeerSection
{
    public required byte[] PublicKey { get; init; }

    public byte[]? PresharedKey { get; init; }

    /// <summary>Networks routed to this peer (masked, as the kernel and wg(8) store them).</summary>
    public IReadOnlyList<JumpingVpn.Platform.Net.IpPrefix> AllowedIps { get; init; } = [];

    public ConfigEndpoint? Endpoint { get; init; }

    /// <summary>Seconds between keepalives; 0 ("off") disables; null when not set.</summary>
    public int? PersistentKeepalive { get; init; }

    /// <summary>Line of the [Peer] header (0 when built in code), for error messages.</summary>
    public int Line { get; init; }

    /// <summary>
    /// The peer's name: the text of a `# NAME` comment line directly above its [Peer] header, the convention
    /// `jvpn server add-peer NAME` writes (docs/configuration.md §1 "Peer names"); null when there is none. A label
    /// for `jvpn status` and the UI only; WireGuard never sees it.
    /// </summary>
    public string? Name { get; init; }
}
