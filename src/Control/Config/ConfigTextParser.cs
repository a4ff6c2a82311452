using System.Globalization;
using System.Net;
using JumpingVpn.Platform.Net;
using static JumpingVpn.Control.Config.ConfigValueParsers;

namespace JumpingVpn.Control.Config;

/// <summary>
/// Reads wg-quick configuration text line by line the way wg-quick(8) and wg(8) together do:
/// <list type="bullet">
/// <item>'#' starts a comment anywhere on a line; blank lines are skipped; section names and keys are
/// case-insensitive.</item>
/// <item>In [Interface], wg-quick first takes its own keys (Address, DNS, MTU, Table, Pre/PostUp,
/// Pre/PostDown, SaveConfig) with the key and value trimmed; every other line goes to wg(8), which deletes
/// all whitespace from the line before matching "Key=" (so "Listen Port = 51 820" is valid there).</item>
/// <item>wg(8) rejects unknown keys, keys outside a section, unknown sections and empty values.</item>
/// </list>
/// A scalar key that repeats keeps its last value; list keys accumulate.
/// </summary>
internal sealed class ConfigTextParser
{
    private enum Section { None, Interface, Peer, Jumping }

    private static readonly string[] InterfaceKeys =
        ["PrivateKey", "Address", "ListenPort", "DNS", "MTU", "FwMark", "Table", "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"];
    private static readonly string[] PeerKeys =
        ["PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"];

    private readonly string _source;
    private readonly List<string> _warnings = [];

    // [Interface]
    private bool _sawInterface;
    private int? _interfaceLine;
    private byte[]? _privateKey;
    private readonly List<InterfaceAddress> _addresses = [];
    private int? _listenPort;
    private readonly List<IPAddress> _dnsServers = [];
    private readonly List<string> _dnsSearch = [];
    private int? _mtu;
    private int _mtuLine;
    private uint? _fwMark;
    private string? _table;
    private readonly List<string> _preUp = [], _postUp = [], _preDown = [], _postDown = [];
    private bool _saveConfig;

    private readonly List<PeerBuilder> _peers = [];
    private readonly Dictionary<string, string> _jumping = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _jumpingLines = new(StringComparer.Ordinal);

    private int _line;
    private string? _pendingName;

    private ConfigTextParser(string source) => _source = source;

    internal static TunnelConfig Parse(string text, string sourceName, string interfaceName, IEnumerable<string>? warnings = null)
    {
        var parser = new ConfigTextParser(sourceName);
        if (warnings is not null)
        {
            parser._warnings.AddRange(warnings);
        }
        parser.ReadAll(text);
        return parser.Finish(interfaceName);
    }

    private void ReadAll(string text)
    {
        Section section = Section.None;
        int lineStart = 0;
        _line = 0;
        while (lineStart <= text.Length)
        {
            int newline = text.IndexOf('\n', lineStart);
            int lineEnd = newline < 0 ? text.Length : newline;
            _line++;
            string raw = text[lineStart..lineEnd];
            lineStart = lineEnd + 1;
            if (_line == 1 && raw.StartsWith('\uFEFF'))
            {
                raw = raw[1..];
            }
            int hash = raw.IndexOf('#', StringComparison.Ordinal);
            string line = TrimSpace(hash < 0 ? raw : raw[..hash]);
            if (line.Length == 0)
            {
                // A whole-line comment directly above a [Peer] header names that peer; anything else between them does not.
                _pendingName = hash >= 0 && TrimSpace(raw[..hash]).Length == 0 ? PeerName(raw[(hash + 1)..]) : null;
                continue;
            }
            if (line.StartsWith('['))
            {
                section = EnterSection(RemoveSpace(line));
                _pendingName = null;
                continue;
            }
            _pendingName = null;
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            string key = TrimSpace(eq < 0 ? line : line[..eq]);
            if (eq < 0)
            {
                throw Error(null, $"`{line}` is not a `Key = Value` line or a [Section] header");
            }
            if (key.Length == 0)
            {
                throw Error(null, $"`{line}` has no key before `=`");
            }
            string value = TrimSpace(line[(eq + 1)..]);
            switch (section)
            {
                case Section.None:
                    throw Error(key, "appears before any section; put it under [Interface] or [Peer]");
                case Section.Interface:
                    InterfaceLine(key, value);
                    break;
                case Section.Peer:
                    PeerLine(key, value);
                    break;
                case Section.Jumping:
                    _jumping[key.ToLowerInvariant()] = _jumping.TryGetValue(key.ToLowerInvariant(), out string? before)
                        ? $"{before}, {value}" : value;
                    _jumpingLines[key.ToLowerInvariant()] = _line;
                    break;
            }
        }
    }

    private Section EnterSection(string header)
    {
        if (header.Equals("[Interface]", StringComparison.OrdinalIgnoreCase))
        {
            _sawInterface = true;
            _interfaceLine ??= _line;
            return Section.Interface;
        }
        if (header.Equals("[Peer]", StringComparison.OrdinalIgnoreCase))
        {
            _peers.Add(new PeerBuilder { Line = _line, Name = _pendingName });
            return Section.Peer;
        }
        if (header.Equals("[Jumping]", StringComparison.OrdinalIgnoreCase))
        {
            return Section.Jumping;
        }
        throw Error(null, $"unknown section `{header}`; wg-quick knows [Interface] and [Peer], and jvpn adds [Jumping]");
    }

    private void InterfaceLine(string key, string value)
    {
        // wg-quick's own keys: exact (case-insensitive) match on the trimmed key, value trimmed only.
        switch (Canonical(key, "Address", "DNS", "MTU", "Table", "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig"))
        {
            case "Address":
                foreach (string entry in SplitWords(value))
                {
                    _addresses.Add(TryParseInterfaceAddress(entry, out InterfaceAddress a, out string e) ? a : throw Error("Address", e));
                }
                return;
            case "DNS":
                foreach (string entry in SplitWords(value))
                {
                    if (!LooksLikeAddress(entry))
                    {
                        _dnsSearch.Add(entry);
                    }
                    else
                    {
                        _dnsServers.Add(TryParseDnsServer(entry, out IPAddress? a, out string e) ? a : throw Error("DNS", e));
                    }
                }
                return;
            case "MTU":
                // wg-quick: an empty MTU means automatic.
                _mtu = value.Length == 0 ? null : TryParseMtu(value, out int mtu, out string mtuError) ? mtu : throw Error("MTU", mtuError);
                _mtuLine = _line;
                return;
            case "Table":
                _table = value.Length == 0 ? null : value;
                return;
            case "PreUp":
                AddCommand(_preUp, value);
                return;
            case "PostUp":
                AddCommand(_postUp, value);
                return;
            case "PreDown":
                AddCommand(_preDown, value);
                return;
            case "PostDown":
                AddCommand(_postDown, value);
                return;
            case "SaveConfig":
                _saveConfig = value.Equals("true", StringComparison.OrdinalIgnoreCase) ? true
                    : value.Equals("false", StringComparison.OrdinalIgnoreCase) ? false
                    : throw Error("SaveConfig", $"`{value}` is neither true nor false");
                return;
        }

        // Everything else is wg(8)'s, which matches after deleting all whitespace.
        string wgValue = RemoveSpace(value);
        switch (Canonical(RemoveSpace(key), "PrivateKey", "ListenPort", "FwMark"))
        {
            case "PrivateKey":
                _privateKey = TryParseKey(NonEmpty("PrivateKey", wgValue), "wg genkey", out byte[]? k, out string ke) ? k : throw Error("PrivateKey", ke);
                return;
            case "ListenPort":
                _listenPort = TryParseListenPort(NonEmpty("ListenPort", wgValue), out int port, out string pe) ? port : throw Error("ListenPort", pe);
                return;
            case "FwMark":
                _fwMark = TryParseFwMark(NonEmpty("FwMark", wgValue), out uint mark, out string fe) ? mark : throw Error("FwMark", fe);
                return;
        }
        throw UnknownKey(key, "[Interface]", InterfaceKeys, PeerKeys, "[Peer]");
    }

    private void PeerLine(string key, string value)
    {
        PeerBuilder peer = _peers[^1];
        string wgValue = RemoveSpace(value);
        switch (Canonical(RemoveSpace(key), "PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"))
        {
            case "PublicKey":
                peer.PublicKey = TryParseKey(NonEmpty("PublicKey", wgValue), "wg pubkey", out byte[]? pk, out string pke) ? pk : throw Error("PublicKey", pke);
                peer.PublicKeyLine = _line;
                return;
            case "PresharedKey":
                peer.PresharedKey = TryParseKey(NonEmpty("PresharedKey", wgValue), "wg genpsk", out byte[]? psk, out string pske) ? psk : throw Error("PresharedKey", pske);
                return;
            case "AllowedIPs":
                AllowedIps(peer, NonEmpty("AllowedIPs", wgValue));
                return;
            case "Endpoint":
                peer.Endpoint = TryParseEndpoint(NonEmpty("Endpoint", wgValue), out ConfigEndpoint? ep, out string epe)
                    ? ep with { SourceName = _source, Line = _line }
                    : throw Error("Endpoint", epe);
                return;
            case "PersistentKeepalive":
                peer.PersistentKeepalive = TryParseKeepalive(NonEmpty("PersistentKeepalive", wgValue), out int ka, out string kae) ? ka : throw Error("PersistentKeepalive", kae);
                return;
        }
        throw UnknownKey(key, "[Peer]", PeerKeys, InterfaceKeys, "[Interface]");
    }

    /// <summary>
    /// wg(8) parse_allowedips: comma-separated, no empty entries; a '+' or '-' prefix adds or removes an
    /// entry; host bits are allowed (the kernel masks them, wg warns).
    /// </summary>
    private void AllowedIps(PeerBuilder peer, string value)
    {
        foreach (string part in value.Split(','))
        {
            bool remove = part.StartsWith('-');
            string entry = part.StartsWith('-') || part.StartsWith('+') ? part[1..] : part;
            if (!TryParseAddressAndLength(entry, out IPAddress? address, out int length))
            {
                throw Error("AllowedIPs", entry.Length == 0
                    ? $"empty entry in `{value}` (stray comma?)"
                    : $"`{entry}` is not an IP address with optional /prefix-length (e.g. 10.0.0.0/24, fd00::/64, 0.0.0.0/0)");
            }
            var prefix = new IpPrefix(address, length);
            if (!prefix.Address.Equals(address))
            {
                _warnings.Add(ConfigException.Format(_source, _line, "AllowedIPs", $"`{entry}` has host bits set; using {prefix}"));
            }
            if (remove)
            {
                peer.AllowedIps.Remove(prefix);
            }
            else if (!peer.AllowedIps.Contains(prefix))
            {
                peer.AllowedIps.Add(prefix);
            }
        }
    }

    private TunnelConfig Finish(string interfaceName)
    {
        if (!_sawInterface)
        {
            throw new ConfigException(_source, null, null,
                "no [Interface] section; the file needs [Interface] with at least `PrivateKey = ...` (make one with `jvpn genkey`)");
        }
        if (_privateKey is null)
        {
            throw new ConfigException(_source, _interfaceLine, "PrivateKey",
                "missing in [Interface]; add `PrivateKey = ...` (make one with `jvpn genkey`)");
        }
        CheckMtu();

        var peers = new List<PeerSection>(_peers.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (PeerBuilder p in _peers)
        {
            if (p.PublicKey is null)
            {
                throw new ConfigException(_source, p.Line, "PublicKey",
                    "missing in this [Peer]; add `PublicKey = ...` (the peer's `wg pubkey` output)");
            }
            string b64 = Convert.ToBase64String(p.PublicKey);
            if (seen.TryGetValue(b64, out int firstLine))
            {
                throw new ConfigException(_source, p.PublicKeyLine, "PublicKey",
                    $"the same peer is already configured in the [Peer] at line {firstLine.ToString(CultureInfo.InvariantCulture)}; merge the two sections");
            }
            seen.Add(b64, p.Line);
            peers.Add(new PeerSection
            {
                PublicKey = p.PublicKey,
                PresharedKey = p.PresharedKey,
                AllowedIps = [.. p.AllowedIps],
                Endpoint = p.Endpoint,
                PersistentKeepalive = p.PersistentKeepalive,
                Line = p.Line,
                Name = p.Name,
            });
        }

        return new TunnelConfig
        {
            InterfaceName = interfaceName,
            SourcePath = _source,
            Interface = new InterfaceSection
            {
                PrivateKey = _privateKey,
                Addresses = [.. _addresses],
                ListenPort = _listenPort,
                DnsServers = [.. _dnsServers],
                DnsSearch = [.. _dnsSearch],
                Mtu = _mtu,
                FwMark = _fwMark,
                Table = _table,
                PreUp = [.. _preUp],
                PostUp = [.. _postUp],
                PreDown = [.. _preDown],
                PostDown = [.. _postDown],
                SaveConfig = _saveConfig,
            },
            Peers = peers,
            Jumping = new Dictionary<string, string>(_jumping, StringComparer.Ordinal),
            JumpingLines = new Dictionary<string, int>(_jumpingLines, StringComparer.Ordinal),
            Warnings = [.. _warnings],
        };
    }

    /// <summary>
    /// wg-quick passes MTU to `ip link` unchecked; jvpn checks it so the failure is a clear message here
    /// rather than a kernel error (or silently lost IPv6) later. IPv6 requires every link to carry 1280-byte
    /// packets (RFC 8200 §5) and Linux drops a device's IPv6 addresses when its MTU goes below that; 576 is
    /// the datagram size every IPv4 host must accept (RFC 791).
    /// </summary>
    private void CheckMtu()
    {
        if (_mtu is not int mtu)
        {
            return;
        }
        bool hasIPv6 = false;
        foreach (InterfaceAddress a in _addresses)
        {
            hasIPv6 |= a.IsIPv6;
        }
        if (hasIPv6 && mtu < 1280)
        {
            throw new ConfigException(_source, _mtuLine, "MTU",
                $"{mtu.ToString(CultureInfo.InvariantCulture)} is below 1280, the minimum for IPv6 (RFC 8200 §5), and this interface has an IPv6 Address; use 1280..65535");
        }
        if (mtu < 576)
        {
            throw new ConfigException(_source, _mtuLine, "MTU",
                $"{mtu.ToString(CultureInfo.InvariantCulture)} is below 576, the smallest IPv4 datagram every host must accept (RFC 791); use 576..65535");
        }
    }

    private static void AddCommand(List<string> list, string value)
    {
        if (value.Length > 0)
        {
            list.Add(value);
        }
    }

    private string NonEmpty(string key, string value) =>
        value.Length > 0 ? value : throw Error(key, "has no value; write `" + key + " = ...` or remove the line");

    private static string? Canonical(string key, params string[] known)
    {
        foreach (string k in known)
        {
            if (k.Equals(key, StringComparison.OrdinalIgnoreCase))
            {
                return k;
            }
        }
        return null;
    }

    private ConfigException UnknownKey(string key, string section, string[] valid, string[] otherSection, string otherName)
    {
        string problem = Canonical(RemoveSpace(key), otherSection) is string other
            ? $"belongs in {otherName}, not {section}"
            : $"is not a valid {section} key; valid keys are {string.Join(", ", valid)}";
        return Error(key, problem);
    }

    private ConfigException Error(string? key, string problem) => new(_source, _line, key, problem);

    /// <summary>The text of a `# NAME` line as a peer name: trimmed, null when empty or holding control characters.</summary>
    private static string? PeerName(string comment)
    {
        string name = TrimSpace(comment);
        return name.Length == 0 || name.AsSpan().ContainsAnyInRange('\0', '\u001f') || name.Contains('\u007f', StringComparison.Ordinal) ? null : name;
    }

    private sealed class PeerBuilder
    {
        public int Line { get; init; }
        public string? Name { get; init; }
        public byte[]? PublicKey { get; set; }
        public int PublicKeyLine { get; set; }
        public byte[]? PresharedKey { get; set; }
        public List<IpPrefix> AllowedIps { get; } = [];
        public ConfigEndpoint? Endpoint { get; set; }
        public int? PersistentKeepalive { get; set; }
    }
}
