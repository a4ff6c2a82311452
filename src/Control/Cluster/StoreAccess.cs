using System.Globalization;
using JumpingVpn.Control.Config;
using JumpingVpn.Platform;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// How a node proves itself to the store and checks the store (docs/cluster.md "Store access"): an ACL user
/// and password (Redis AUTH, etcd Authenticate), and for `rediss://` / `etcds://` the CA that signed the server's certificate, the name the
/// certificate must carry, and optionally a client certificate. Resolved once at start from `[Jumping]`
/// keys and the environment; the password never appears in a URL, a log line or <see cref="ToString"/>.
/// </summary>
public sealed record StoreAccess(string? User, string? Password, string? CaFile, string? ServerName, string? CertFile, string? KeyFile)
{
    /// <summary>Environment variable holding the store password when no StorePasswordFile is configured.</summary>
    public const string PasswordVariable = "JVPN_STORE_PASSWORD";

    /// <summary>A password file may be read by its group (root:jvpn 0640 for the packaged service), never by others.</summary>
    private const UnixFileMode TooOpen = UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static StoreAccess None { get; } = new(null, null, null, null, null, null);

    /// <summary>
    /// The access settings for <paramref name="url"/> from `[Jumping]` (StoreUser, StorePasswordFile,
    /// StoreCaFile, StoreServerName, StoreCertFile, StoreKeyFile) and <see cref="PasswordVariable"/>.
    /// Throws <see cref="ConfigException"/> naming the key and the fix, and its line when <paramref name="lines"/>
    /// (TunnelConfig.JumpingLines) knows it.
    /// </summary>
    public static StoreAccess Resolve(StoreUrl url, IReadOnlyDictionary<string, string> jumping, string? sourcePath, Func<string, string?> environment,
        IReadOnlyDictionary<string, int>? lines = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(jumping);
        ArgumentNullException.ThrowIfNull(environment);
        ConfigException Error(string key, string problem, Exception? inner = null) =>
            new(sourcePath, lines is not null && lines.TryGetValue(key.ToLowerInvariant(), out int line) ? line : null, key, problem, inner);
        string? Key(string k) => jumping.TryGetValue(k, out string? v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        string? user = Key("storeuser");
        if (user is not null && url.User is not null && !string.Equals(user, url.User, StringComparison.Ordinal))
        {
            throw Error("StoreUser", $"'{user}' differs from the user in the store URL ('{url.User}'); name the user in one place");
        }
        user ??= url.User;
        string? password = null;
        if (Key("storepasswordfile") is { } file)
        {
            try
            {
                password = ReadPasswordFile(file, sourcePath);
            }
            catch (ConfigException e) when (e.Line is null && e.Problem is not null)
            {
                throw Error("StorePasswordFile", e.Problem, e.InnerException);
            }
        }
        else if (environment(PasswordVariable) is { Length: > 0 } fromEnv)
        {
            password = fromEnv;
        }
        if (user is not null && password is null)
        {
            throw Error("StorePasswordFile", $"the store user '{user}' needs a password: set [Jumping] StorePasswordFile = /etc/jvpn/store.pass (chmod 600), or the environment variable {PasswordVariable}");
        }
        string? ca = Key("storecafile");
        string? serverName = Key("storeservername");
        string? cert = Key("storecertfile");
        string? key = Key("storekeyfile");
        if (!url.Tls && (ca ?? serverName ?? cert ?? key) is not null)
        {
            throw Error(ca is not null ? "StoreCaFile" : serverName is not null ? "StoreServerName" : cert is not null ? "StoreCertFile" : "StoreKeyFile",
                "only applies to a TLS store: use rediss://HOST:PORT or etcds://HOST:PORT");
        }
        if ((cert is null) != (key is null))
        {
            throw Error(cert is null ? "StoreCertFile" : "StoreKeyFile", "a client certificate needs both StoreCertFile and StoreKeyFile (PEM)");
        }
        foreach ((string name, string? path) in new[] { ("StoreCaFile", ca), ("StoreCertFile", cert), ("StoreKeyFile", key) })
        {
            if (path is not null && !File.Exists(path))
            {
                throw Error(name, $"'{path}' does not exist");
            }
        }
        return new StoreAccess(user, password, ca, serverName, cert, key);
    }

    /// <summary>
    /// Reads a password file: the first line, owned by root or by the user jvpn runs as, and not readable by
    /// others (0600, or 0640 so the packaged service's group can read a root-owned file).
    /// </summary>
    public static string ReadPasswordFile(string path, string? sourcePath)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ConfigException(sourcePath, null, "StorePasswordFile", $"'{path}' does not exist");
        }
        if (Hosting.HostComposition.Current.PosixFileModes)
        {
            UnixFileMode mode = File.GetUnixFileMode(path);
            if ((mode & TooOpen) != 0)
            {
                string octal = "0" + Convert.ToString((int)mode & 0xFFF, 8);
                throw new ConfigException(sourcePath, null, "StorePasswordFile",
                    $"'{path}' is readable or writable by others (mode {octal}); run: chmod 600 {path} (or chmod 640 with group jvpn for the packaged service)");
            }
            if (Hosting.HostComposition.Current.FileOwnership && FileOwner.TryGetOwner(path) is { } o && FileOwner.CurrentUser is var m && o != 0 && o != m)
            {
                throw new ConfigException(sourcePath, null, "StorePasswordFile",
                    string.Create(CultureInfo.InvariantCulture, $"'{path}' is owned by uid {o}, neither root nor the user jvpn runs as (uid {m}); run: chown root {path}"));
            }
        }
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(sourcePath, null, "StorePasswordFile", $"'{path}': {ConfigException.ReadFailure(e)}");
        }
        string password = text.Split('\n', 2)[0].TrimEnd('\r');
        if (password.Length == 0)
        {
            throw new ConfigException(sourcePath, null, "StorePasswordFile", $"'{path}' is empty; its first line is the store password");
        }
        return password;
    }

    /// <summary>Never prints the password.</summary>
    public override string ToString() =>
        $"user={User ?? "-"} password={(Password is null ? "none" : "set")} ca={CaFile ?? "system"} server_name={ServerName ?? "-"} client_cert={CertFile ?? "-"}";
}
