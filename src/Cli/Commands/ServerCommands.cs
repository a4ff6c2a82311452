using System.CommandLine;
using System.Net;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Provisioning;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net;
using JumpingVpn.Tunnel.Crypto;

namespace JumpingVpn.Cli.Commands;

/// <summary>
/// `jvpn server init` and `jvpn server add-peer NAME`: set up a server config and hand out client configs
/// without editing files by hand. Exit codes: 0 ok, 2 usage, 3 bad config/option value (also: address
/// pool full, no endpoint known), 5 the thing to create already exists (config file without --force,
/// peer name), 1 I/O or UAPI failure.
/// </summary>
internal static class ServerCommands
{
    public static Command Create() => new("server", "Set up a jvpn server and provision clients.")
    {
        Init(),
        AddPeer(),
    };

    private static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = $"Server config file; the file name (without .conf) is the interface name (default {ServerInit.DefaultConfigPath})",
        DefaultValueFactory = _ => ServerInit.DefaultConfigPath,
    };

    private static Command Init()
    {
        Option<string> config = ConfigOption();
        var address = new Option<string>("--address", "-a")
        {
            Description = $"Server tunnel address(es) with the client pool's prefix, comma-separated (default {ServerInit.DefaultAddress})",
            DefaultValueFactory = _ => ServerInit.DefaultAddress,
        };
        var port = new Option<int>("--port", "-p")
        {
            Description = $"UDP port to listen on (default {ServerInit.DefaultPort})",
            DefaultValueFactory = _ => ServerInit.DefaultPort,
        };
        var endpoint = new Option<string?>("--endpoint", "-e")
        {
            Description = "Public HOST[:PORT] clients connect to (recorded for add-peer; PORT defaults to --port)",
        };
        var force = new Option<bool>("--force") { Description = "Replace an existing config file (its private key is lost)" };
        var cmd = new Command("init", "Write a new server config with a fresh private key and print its public key.")
        {
            config, address, port, endpoint, force,
        };
        cmd.SetAction(parse => RunInit(parse.GetValue(config)!, parse.GetValue(address)!, parse.GetValue(port), parse.GetValue(endpoint), parse.GetValue(force)));
        return cmd;
    }

    private static int RunInit(string path, string addressText, int port, string? endpointText, bool force)
    {
        if (port is < 1 or > 65535)
        {
            return Fail("server init", $"--port {port} is not a UDP port (1..65535)", ExitCodes.BadConfig);
        }
        string name = TunnelConfigParser.InterfaceNameFromPath(path);
        IReadOnlyList<InterfaceAddress> addresses = ServerInit.ParseAddresses(addressText);
        ConfigEndpoint? endpoint = endpointText is null ? null : ServerInit.ParseEndpoint(endpointText, port);
        ServerInitResult result = ServerInit.Create(new ServerInitOptions { Addresses = addresses, ListenPort = port, Endpoint = endpoint });
        try
        {
            ConfigFiles.Create(path, result.ConfigText, force);
        }
        catch (ConfigFileExistsException e)
        {
            return Fail("server init", e.Message, ExitCodes.InterfaceState);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail("server init", $"cannot write {path}: {WriteRefusal(e)} (run as root for /etc/jvpn)", ExitCodes.NoPrivilege);
        }

        TextWriter o = Console.Out;
        o.Write($"Wrote {path} (interface {name}, {Access(path)}).\n");
        o.Write($"Server public key: {WireGuardKey.ToBase64(result.PublicKey)}\n");
        o.Write(endpoint is null
            ? "No --endpoint given: add-peer will need --endpoint HOST[:PORT] (the address clients reach this server at).\n"
            : $"Clients will connect to {endpoint}.\n");
        // The packaged unit only runs /etc/jvpn/NAME.conf; elsewhere the foreground command is the way.
        bool packaged = IsInPackagedDirectory(path);
        string configOption = path == ServerInit.DefaultConfigPath ? "" : $" --config {path}";
        o.Write("Next steps:\n");
        o.Write($"  1. Allow UDP port {port} in the firewall.\n");
        o.Write(packaged
            ? $"  2. Start the server:      systemctl enable --now jvpn@{name}   (or in the foreground: jvpn up {path})\n"
            : $"  2. Start the server:      jvpn up {path}\n");
        o.Write($"  3. Add a client:          jvpn server add-peer NAME{configOption}   (config and QR code; > NAME.conf for a file)\n");
        o.Write("  4. For full-tunnel clients, enable IP forwarding and NAT for the pool on this host\n");
        o.Write("     (with the package: /usr/share/doc/jvpn/README.md, \"Forwarding and NAT\").\n");
        return ExitCodes.Ok;
    }

    private static Command AddPeer()
    {
        var name = new Argument<string>("NAME") { Description = "Name of the client, kept as a comment above its [Peer]" };
        Option<string> config = ConfigOption();
        var address = new Option<string?>("--address", "-a")
        {
            Description = "Client tunnel address(es), comma-separated host addresses (default: next free in the server's subnet)",
        };
        var dns = new Option<string?>("--dns") { Description = "DNS server(s) for the client, comma-separated" };
        var allowed = new Option<string?>("--allowed-ips")
        {
            Description = "What the client sends through the tunnel, comma-separated (default 0.0.0.0/0, ::/0)",
        };
        var endpoint = new Option<string?>("--endpoint", "-e")
        {
            Description = "Public HOST[:PORT] of the server (default: the one recorded by server init)",
        };
        var qr = new Option<bool>("--qr") { Description = "Also print the client config as a terminal QR code (needs qrencode; the default when stdout is a terminal)" };
        var cmd = new Command("add-peer", "Add a client to the server config and print the client's config (stdout).")
        {
            name, config, address, dns, allowed, endpoint, qr,
        };
        cmd.SetAction(parse => RunAddPeer(parse.GetValue(name)!, parse.GetValue(config)!, parse.GetValue(address), parse.GetValue(dns),
            parse.GetValue(allowed), parse.GetValue(endpoint), parse.GetValue(qr)));
        return cmd;
    }

    private static int RunAddPeer(string name, string path, string? addressText, string? dnsText, string? allowedText, string? endpointText, bool qr)
    {
        TunnelConfig server = TunnelConfigParser.ParseFile(path);
        string text = File.ReadAllText(path);
        var options = new AddPeerOptions
        {
            Name = name,
            Addresses = addressText is null ? null : HostAddresses("--address", addressText),
            Dns = dnsText is null ? [] : HostAddresses("--dns", dnsText),
            AllowedIps = allowedText is null ? null : Prefixes(allowedText),
            Endpoint = endpointText is null ? null : ServerInit.ParseEndpoint(endpointText, server.Interface.ListenPort ?? ServerInit.DefaultPort),
        };
        AddPeerResult result;
        try
        {
            result = PeerProvisioning.Add(text, server, options);
        }
        catch (PeerNameTakenException e)
        {
            return Fail("server add-peer", e.Message, ExitCodes.InterfaceState);
        }
        try
        {
            ConfigFiles.Replace(path, result.ServerConfigText);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail("server add-peer", $"cannot write {path}: {WriteRefusal(e)} (run as root: the file keeps its owner, group and mode)", ExitCodes.NoPrivilege);
        }

        string where = PeerProvisioning.Describe(result.ClientAddresses);
        try
        {
            LivePeerOutcome live = LivePeer.Add(server.InterfaceName, result.ServerPeer);
            Console.Error.WriteLine(live == LivePeerOutcome.Added
                ? $"Added peer {name} ({where}) to {path} and to the running interface {server.InterfaceName}."
                : $"Added peer {name} ({where}) to {path}; {server.InterfaceName} is not running, the peer takes effect at `jvpn up`.");
        }
        catch (UapiException e)
        {
            Console.Error.WriteLine($"Added peer {name} ({where}) to {path}, but not to the running interface: {e.Message}");
        }

        Console.Out.Write(result.ClientConfigText);
        if (qr || !Console.IsOutputRedirected)
        {
            PrintQr(result.ClientConfigText);
        }
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Renders the QR code with Debian's qrencode (the .deb Recommends it) rather than a hand-written
    /// encoder. It goes to stdout only when stdout is a terminal, so `add-peer NAME --qr > NAME.conf`
    /// still writes a clean config file and shows the code on the terminal (stderr).
    /// </summary>
    private static void PrintQr(string config)
    {
        string? qrencode = ExternalCommand.FindOnPath("qrencode");
        if (qrencode is null)
        {
            Console.Error.WriteLine("(No QR code: install qrencode, e.g. `apt install qrencode`, to get one for the WireGuard mobile apps.)");
            return;
        }
        // Comment lines only make the code denser and harder to scan; the apps ignore them anyway.
        var input = new System.Text.StringBuilder();
        foreach (string line in config.Split('\n'))
        {
            if (!line.StartsWith('#'))
            {
                input.Append(line).Append('\n');
            }
        }
        ExternalCommand.Result r = ExternalCommand.Run(qrencode, ["-t", "ansiutf8"], input.ToString());
        if (!r.Ok)
        {
            Console.Error.WriteLine($"(qrencode failed with exit code {r.ExitCode}; no QR code.)");
            return;
        }
        string code = r.Output;
        (Console.IsOutputRedirected ? Console.Error : Console.Out).Write(code);
    }

    private static List<IPAddress> HostAddresses(string option, string text)
    {
        var list = new List<IPAddress>();
        foreach (string entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!IpPrefix.TryParse(entry, out IpPrefix? p) || p.Value.Length != IpPrefix.MaxLength(p.Value.Address.AddressFamily)
                || !IPAddress.TryParse(entry.Split('/')[0], out IPAddress? a))
            {
                throw new ConfigException(null, null, option, $"`{entry}` is not a single IP address (e.g. 10.77.0.5, 10.77.0.5/32 or fd77::5/128)");
            }
            list.Add(a);
        }
        return list.Count > 0 ? list : throw new ConfigException(null, null, option, "is empty");
    }

    private static List<IpPrefix> Prefixes(string text)
    {
        var list = new List<IpPrefix>();
        foreach (string entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            list.Add(IpPrefix.TryParse(entry, out IpPrefix? p) ? p.Value
                : throw new ConfigException(null, null, "--allowed-ips", $"`{entry}` is not an IP prefix (e.g. 0.0.0.0/0, 10.77.0.0/24, ::/0)"));
        }
        return list.Count > 0 ? list : throw new ConfigException(null, null, "--allowed-ips", "is empty");
    }

    private static bool IsInPackagedDirectory(string path) =>
        string.Equals(Path.GetDirectoryName(Path.GetFullPath(path)), ServiceConfigAccess.Packaged.Directory, StringComparison.Ordinal);

    /// <summary>"mode 0640, group jvpn: readable by the jvpn@ service" or "mode 0600", as written.</summary>
    private static string Access(string path)
    {
        if (!HostComposition.Current.PosixFileModes)
        {
            return "access inherited from its folder";
        }
        string mode = "mode 0" + Convert.ToString((int)File.GetUnixFileMode(path) & 0x1FF, 8);
        ServiceConfigAccess service = ServiceConfigAccess.Packaged;
        return FileOwner.TryGetGroupId(service.Group, out uint gid) && FileOwner.Get(path).Gid == gid
            ? $"{mode}, group {service.Group}: readable by the jvpn@ service"
            : mode;
    }

    /// <summary>The BCL's message names the temp file written beside the config; the user needs only why.</summary>
    private static string WriteRefusal(UnauthorizedAccessException e) =>
        e.Message.StartsWith("Access to the path", StringComparison.Ordinal) ? "permission denied" : e.Message;

    private static int Fail(string command, string message, int code)
    {
        Console.Error.WriteLine($"jvpn {command}: {message}");
        return code;
    }
}
