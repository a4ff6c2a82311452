namespace JumpingVpn.Control.Uapi;

/// <summary>
/// Where UAPI sockets live: <c>/var/run/wireguard/NAME.sock</c>, the directory wg(8) scans
/// (wireguard-tools ipc.c SOCK_PATH; wireguard-go ipc/uapi_unix.go creates it with mode 0755).
/// </summary>
public static class UapiPaths
{
    public const string DefaultSocketDirectory = "/var/run/wireguard";
    public const string SocketSuffix = ".sock";

    /// <summary>Linux IFNAMSIZ is 16 including the terminating NUL.</summary>
    public const int MaxInterfaceNameLength = 15;

    public static string SocketPath(string interfaceName, string? socketDirectory = null)
    {
        ValidateInterfaceName(interfaceName);
        return Path.Combine(socketDirectory ?? DefaultSocketDirectory, interfaceName + SocketSuffix);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless the name is a usable interface name; wg(8)
    /// refuses names containing '/', and the kernel names longer than 15 bytes.</summary>
    public static void ValidateInterfaceName(string interfaceName)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        if (interfaceName.Length > MaxInterfaceNameLength
            || interfaceName is "." or ".."
            || interfaceName.AsSpan().IndexOfAny('/', '\0') >= 0
            || interfaceName.AsSpan().ContainsAnyInRange('\0', ' '))
        {
            throw new ArgumentException(
                $"'{interfaceName}' is not a valid interface name (1 to {MaxInterfaceNameLength} characters, no '/' or whitespace)",
                nameof(interfaceName));
        }
    }
}
