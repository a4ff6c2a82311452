using System.Net;
using System.Text.Json;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Provisioning;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;
using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Server;

/// <summary>
/// <c>POST /api/server/peers</c> with <c>{"tunnel", "name", "address"?}</c>: what <c>jvpn server add-peer</c> does
/// (docs/ui.md "Server mode"): new client keys and preshared key, the next free address (or the one given), the
/// [Peer] appended to the server config (atomic replace, owner and mode kept), the peer added to the running
/// interface over UAPI, and the client config answered once with its QR code. The client's private key is in
/// that answer only; the manager keeps no copy.
/// </summary>
internal sealed class AddPeerEndpoint(ServerTunnels tunnels, string? socketDirectory)
{
    /// <summary>Bigger bodies are refused unread: a name and an address list need a few hundred bytes.</summary>
    private const int MaxBodyBytes = 4096;

    // One change to a server config at a time: two adds racing on read-modify-write would pick the same address.
    private readonly Lock _writing = new();

    internal sealed record AddPeerBody(string? Tunnel, string? Name, string? Address);

    internal sealed record AddPeerAnswer(string Name, string Addresses, string Config, string FileName, string Qr, string Live, string Message);

    public async Task<IResult> HandleAsync(HttpRequest request)
    {
        AddPeerBody? body;
        if (request.ContentLength is > MaxBodyBytes)
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, "the request is too large for a peer name and address");
        }
        try
        {
            body = await JsonSerializer.DeserializeAsync<AddPeerBody>(new BoundedStream(request.Body, MaxBodyBytes), Json, request.HttpContext.RequestAborted);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, "send JSON {\"tunnel\": NAME, \"name\": PEER, \"address\": optional}");
        }
        TunnelEntry? tunnel = tunnels.Find(body?.Tunnel, out IResult? refusal);
        if (tunnel is null)
        {
            return refusal!;
        }
        if (string.IsNullOrWhiteSpace(body!.Name))
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, "give the new peer a name (1 to 64 printable characters, e.g. alice-phone)");
        }
        List<IPAddress>? addresses = null;
        if (!string.IsNullOrWhiteSpace(body.Address))
        {
            addresses = HostAddresses(body.Address, out string? problem);
            if (addresses is null)
            {
                return ServerModule.Refuse(StatusCodes.Status400BadRequest, problem!);
            }
        }
        lock (_writing)
        {
            return Add(tunnel, body.Name, addresses);
        }
    }

    private IResult Add(TunnelEntry tunnel, string name, List<IPAddress>? addresses)
    {
        string path = tunnel.ConfigPath;
        AddPeerResult result;
        try
        {
            string text = File.ReadAllText(path);
            TunnelConfig server = TunnelConfigParser.Parse(text, path, tunnel.InterfaceName);
            result = PeerProvisioning.Add(text, server, new AddPeerOptions { Name = name, Addresses = addresses });
        }
        catch (PeerNameTakenException e)
        {
            return ServerModule.Refuse(StatusCodes.Status409Conflict, e.Message);
        }
        catch (ConfigException e)
        {
            return ServerModule.Refuse(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ServerModule.Refuse(StatusCodes.Status409Conflict, $"cannot read {path}: {e.Message}");
        }
        try
        {
            ConfigFiles.Replace(path, result.ServerConfigText);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ServerModule.Refuse(StatusCodes.Status409Conflict,
                $"cannot write {path}: {e.Message} (the manager must run as root to change server configs); nothing was added");
        }
        string where = PeerProvisioning.Describe(result.ClientAddresses);
        string live;
        string message;
        try
        {
            bool added = LivePeer.Add(tunnel.InterfaceName, result.ServerPeer, socketDirectory) == LivePeerOutcome.Added;
            live = added ? "added" : "notRunning";
            message = added
                ? $"Added {name} ({where}) to {path} and to the running tunnel {tunnel.Name}."
                : $"Added {name} ({where}) to {path}; {tunnel.Name} is not running, the peer takes effect when it starts.";
        }
        catch (UapiException e)
        {
            live = "failed";
            message = $"Added {name} ({where}) to {path}, but not to the running tunnel: {e.Message}";
        }
        return Results.Json(new AddPeerAnswer(name.Trim(), where, result.ClientConfigText, FileName(tunnel.InterfaceName, name),
            ClientConfigQr.DataUrl(result.ClientConfigText), live, message));
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>"alice phone" on wg0 -> "wg0-alice-phone.conf": a file name the WireGuard apps accept as a tunnel name.</summary>
    internal static string FileName(string interfaceName, string peer)
    {
        var sb = new System.Text.StringBuilder(interfaceName.Length + peer.Length + 6).Append(interfaceName).Append('-');
        foreach (char c in peer.Trim())
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '=' or '+' or '.' or '-' ? c : '-');
        }
        string stem = sb.ToString();
        return (stem.Length > 15 ? stem[..15] : stem).TrimEnd('-', '.') + ".conf";
    }

    /// <summary>Comma-separated host addresses, as <c>jvpn server add-peer --address</c> takes them.</summary>
    internal static List<IPAddress>? HostAddresses(string text, out string? problem)
    {
        problem = null;
        var list = new List<IPAddress>();
        if (text.Length > 256)
        {
            problem = "the address list is too long; give one address per address family, e.g. 10.77.0.9, fd77::9";
            return null;
        }
        foreach (string entry in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!IpPrefix.TryParse(entry, out IpPrefix? p) || p.Value.Length != IpPrefix.MaxLength(p.Value.Address.AddressFamily)
                || !IPAddress.TryParse(entry.Split('/')[0], out IPAddress? a))
            {
                problem = $"'{entry}' is not a host address; give addresses like 10.77.0.9 or fd77::9, or leave the field empty for the next free one";
                return null;
            }
            list.Add(a);
        }
        return list;
    }

    /// <summary>Reads at most <c>limit</c> bytes and then fails, so a body without Content-Length cannot grow without bound.</summary>
    private sealed class BoundedStream(Stream inner, int limit) : Stream
    {
        private int _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("synchronous reads");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _read += n;
            return _read > limit ? throw new IOException("body too large") : n;
        }
    }
}
