using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Control.Config;

/// <summary>
/// A peer's Endpoint as written in the file: a host name or an IP literal, and a port. Host names are kept
/// unresolved because wg-quick resolves them when the interface comes up (wg(8) `setconf`), not when the
/// file is read; <see cref="Resolve"/> does that at `jvpn up`.
/// </summary>
public sealed record ConfigEndpoint
{
    public ConfigEndpoint(string host, int port, bool isLiteral)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Host = host;
        Port = port;
        IsLiteral = isLiteral;
    }

    /// <summary>Host name, or IP literal without brackets.</summary>
    public string Host { get; }
    public int Port { get; }

    /// <summary>True when <see cref="Host"/> is an IPv4/IPv6 literal, so resolving needs no DNS.</summary>
    public bool IsLiteral { get; }

    /// <summary>File the endpoint came from, so a resolution failure can point at it. Not part of equality.</summary>
    public string? SourceName { get; init; }

    /// <summary>Line the endpoint came from. Not part of equality.</summary>
    public int? Line { get; init; }

    public bool Equals(ConfigEndpoint? other) =>
        other is not null && Port == other.Port && IsLiteral == other.IsLiteral
        && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase);

    public override int GetHashCode() => HashCode.Combine(Host.ToUpperInvariant(), Port, IsLiteral);

    /// <summary>
    /// Resolves the host (system resolver, like wg(8)'s getaddrinfo) and returns the first address, or the
    /// first of the <paramref name="prefer"/>red family when there is one.
    /// </summary>
    /// <exception cref="ConfigException">The name does not resolve to any IPv4/IPv6 address.</exception>
    public IPEndPoint Resolve(AddressFamily? prefer = null)
    {
        if (TryLiteral(out IPEndPoint? literal))
        {
            return literal;
        }
        IPAddress[] addresses;
        try
        {
            addresses = Dns.GetHostAddresses(Host);
        }
        catch (SocketException e)
        {
            throw ResolveFailed(e.Message, e);
        }
        return Pick(addresses, prefer);
    }

    /// <inheritdoc cref="Resolve"/>
    public async Task<IPEndPoint> ResolveAsync(AddressFamily? prefer = null, CancellationToken cancellationToken = default)
    {
        if (TryLiteral(out IPEndPoint? literal))
        {
            return literal;
        }
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw ResolveFailed(e.Message, e);
        }
        return Pick(addresses, prefer);
    }

    private bool TryLiteral([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (!IsLiteral)
        {
            return false;
        }
        endpoint = new IPEndPoint(IPAddress.Parse(Host), Port);
        return true;
    }

    private IPEndPoint Pick(IPAddress[] addresses, AddressFamily? prefer)
    {
        IPAddress? first = null;
        foreach (IPAddress a in addresses)
        {
            if (a.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            {
                continue;
            }
            if (prefer is null || a.AddressFamily == prefer)
            {
                return new IPEndPoint(a, Port);
            }
            first ??= a;
        }
        return first is not null
            ? new IPEndPoint(first, Port)
            : throw ResolveFailed("the name has no IPv4 or IPv6 address", null);
    }

    private ConfigException ResolveFailed(string reason, Exception? inner) =>
        new(SourceName, Line, "Endpoint",
            $"cannot resolve host `{Host}` ({reason}); check the name and your DNS, or use an IP address", inner);

    /// <summary>"host:port", or "[v6]:port" for an IPv6 literal, as wg(8) writes endpoints.</summary>
    public override string ToString()
    {
        string port = Port.ToString(CultureInfo.InvariantCulture);
        return Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{port}" : $"{Host}:{port}";
    }
}
