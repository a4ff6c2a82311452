using JumpingVpn.Control.Provisioning;
using JumpingVpn.Tests.Infrastructure;

namespace JumpingVpn.Tests.Control.Provisioning;

/// <summary>
/// `jvpn server init`/`add-peer` write through ConfigFiles: a replaced config keeps its owner, group and mode
/// (the packaged unit reads root:jvpn 0640 as user jvpn), and a new config in the service directory is
/// made readable by the service group. Owner changes need root; group "daemon" stands in for jvpn.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConfigFilesOwnershipTests : IDisposable
{
    private const string StandInGroup = "daemon";
    private readonly string _dir = Directory.CreateTempSubdirectory("jvpn-own-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Stat(string path) => Command.Run("stat", ["-c", "%u:%g:%a", path]).StandardOutput.Trim();

    private static string StandInGid() => Command.Run("getent", ["group", StandInGroup]).StandardOutput.Split(':')[2];

    [Fact]
    public void ReplaceKeepsAGroupReadableMode()
    {
        string path = Path.Combine(_dir, "jvpn0.conf");
        ConfigFiles.Create(path, "old", overwrite: false);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        ConfigFiles.Replace(path, "new");

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
    }

    [Fact]
    public void ReplaceKeepsOwnerGroupAndMode()
    {
        Requirements.Ensure("chown", "getent");
        string path = Path.Combine(_dir, "jvpn0.conf");
        ConfigFiles.Create(path, "old", overwrite: false);
        Command.Run("chown", ["1:" + StandInGroup, path]);
        Command.Run("chmod", ["640", path]);
        string before = Stat(path);
        Assert.Equal($"1:{StandInGid()}:640", before);

        ConfigFiles.Replace(path, "new");

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(before, Stat(path));
    }

    [Fact]
    public void ForcedCreateOverAnExistingConfigKeepsItsOwnerGroupAndMode()
    {
        Requirements.Ensure("chown", "getent");
        string path = Path.Combine(_dir, "jvpn0.conf");
        ConfigFiles.Create(path, "old", overwrite: false);
        Command.Run("chown", ["0:" + StandInGroup, path]);
        Command.Run("chmod", ["640", path]);

        ConfigFiles.Create(path, "new", overwrite: true, new ServiceConfigAccess("/nonexistent", StandInGroup));

        Assert.Equal($"0:{StandInGid()}:640", Stat(path));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NewConfigInTheServiceDirectoryIsRootServiceGroup0640(bool force)
    {
        Requirements.Ensure("getent");
        string path = Path.Combine(_dir, "jvpn0.conf");

        ConfigFiles.Create(path, "text", overwrite: force, new ServiceConfigAccess(_dir + "/", StandInGroup));

        Assert.Equal($"0:{StandInGid()}:640", Stat(path));
    }

    [Fact]
    public void NewConfigInTheServiceDirectoryWithoutTheGroupStaysOwnerOnly()
    {
        string path = Path.Combine(_dir, "jvpn0.conf");

        ConfigFiles.Create(path, "text", overwrite: false, new ServiceConfigAccess(_dir, "jvpn-no-such-group"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void NewConfigOutsideTheServiceDirectoryStaysOwnerOnly()
    {
        Requirements.Ensure("getent");
        string path = Path.Combine(_dir, "sub", "jvpn0.conf");

        ConfigFiles.Create(path, "text", overwrite: false, new ServiceConfigAccess(_dir, StandInGroup));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.EndsWith(":600", Stat(path), StringComparison.Ordinal);
        Assert.DoesNotContain(":" + StandInGid() + ":", Stat(path), StringComparison.Ordinal);
    }
}
