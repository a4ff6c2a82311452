using JumpingVpn.Control.Provisioning;

namespace JumpingVpn.Tests.Control.Provisioning;

public sealed class ConfigFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jvpn-prov-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CreateMakesOwnerOnlyFileAndDirectoryAndRefusesToOverwrite()
    {
        string path = Path.Combine(_dir, "etc", "jvpn0.conf");
        ConfigFiles.Create(path, "one", overwrite: false);
        Assert.Equal("one", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }
        ConfigFileExistsException e = Assert.Throws<ConfigFileExistsException>(() => ConfigFiles.Create(path, "two", overwrite: false));
        Assert.Contains("--force", e.Message, StringComparison.Ordinal);
        ConfigFiles.Create(path, "three", overwrite: true);
        Assert.Equal("three", File.ReadAllText(path));
    }

    [Fact]
    public void ReplaceKeepsModeAndLeavesNoTempFiles()
    {
        string path = Path.Combine(_dir, "jvpn0.conf");
        ConfigFiles.Create(path, "old", overwrite: false);
        ConfigFiles.Replace(path, "new");
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["jvpn0.conf"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }
}
