using JumpingVpn.Control.Cluster;
using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;

namespace JumpingVpn.Tests.Control.Cluster;

/// <summary>Store credentials and TLS settings: where they come from, and the checks on the password file.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StoreAccessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jvstore-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TunnelConfig Config(Dictionary<string, string> jumping) => new()
    {
        InterfaceName = "jv0",
        SourcePath = "/etc/jvpn/jv0.conf",
        Interface = new InterfaceSection { PrivateKey = new byte[32] },
        Jumping = jumping,
    };

    private string PasswordFile(string password, UnixFileMode mode)
    {
        string path = Path.Combine(_dir, "store.pass");
        File.WriteAllText(path, password + "\n");
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private const UnixFileMode Mode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Theory]
    [InlineData(Mode600)]
    [InlineData(Mode600 | UnixFileMode.GroupRead)]
    public void A_password_file_private_to_its_owner_or_group_readable_is_used_and_the_user_comes_from_the_url(UnixFileMode mode)
    {
        string file = PasswordFile("s3cret pass", mode);
        StoreUrl url = JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "redis://jvpn@10.0.0.5", ["storepasswordfile"] = file }), null, _ => null)!;
        Assert.Equal(("jvpn", "s3cret pass"), (url.Access.User, url.Access.Password));
        Assert.DoesNotContain("s3cret", url.Access.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", url.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void A_password_file_others_can_read_or_the_group_can_write_is_refused_naming_the_file_and_the_chmod_fix(UnixFileMode extra)
    {
        string file = PasswordFile("pw", Mode600 | extra);
        ConfigException e = Assert.Throws<ConfigException>(() =>
            JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "redis://10.0.0.5", ["storepasswordfile"] = file }), null, _ => null));
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600 " + file, e.Message, StringComparison.Ordinal);
        Assert.Contains("StorePasswordFile", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_password_comes_from_the_environment_without_a_file_and_StoreUser_names_the_acl_user()
    {
        StoreUrl url = JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "redis://10.0.0.5", ["storeuser"] = "node" }), null,
            v => v == StoreAccess.PasswordVariable ? "from-env" : null)!;
        Assert.Equal(("node", "from-env"), (url.Access.User, url.Access.Password));
    }

    [Fact]
    public void A_user_without_a_password_and_tls_keys_on_a_plain_store_are_config_errors()
    {
        ConfigException noPassword = Assert.Throws<ConfigException>(() =>
            JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "redis://node@10.0.0.5" }), null, _ => null));
        Assert.Contains("StorePasswordFile", noPassword.Message, StringComparison.Ordinal);
        ConfigException notTls = Assert.Throws<ConfigException>(() =>
            JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "redis://10.0.0.5", ["storeservername"] = "redis.internal" }), null, _ => null));
        Assert.Contains("rediss://", notTls.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rediss_urls_turn_on_tls_and_keep_the_ca_and_server_name()
    {
        string ca = Path.Combine(_dir, "ca.pem");
        File.WriteAllText(ca, "x");
        StoreUrl url = JumpingOptionsParser.ParseStore(Config(new() { ["store"] = "rediss://10.0.0.5:6380", ["storecafile"] = ca, ["storeservername"] = "redis.internal" }), null, _ => "pw")!;
        Assert.True(url.Tls);
        Assert.Equal((ca, "redis.internal", 6380), (url.Access.CaFile, url.Access.ServerName, url.Port));
        Assert.StartsWith("rediss://", url.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_inside_the_url_is_refused_without_echoing_it()
    {
        Assert.False(StoreUrl.TryParse("redis://node:hunter2@10.0.0.5", out _, out string? problem));
        Assert.Contains("StorePasswordFile", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }
}
