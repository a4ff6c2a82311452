using JumpingVpn.Control.Config;
using Binaries = JumpingVpn.Tests.Infrastructure.Binaries;
using Command = JumpingVpn.Tests.Infrastructure.Command;
using CommandResult = JumpingVpn.Tests.Infrastructure.CommandResult;
using Requirements = JumpingVpn.Tests.Infrastructure.Requirements;
using static JumpingVpn.Tests.Control.Config.ConfigSamples;

namespace JumpingVpn.Tests.Control.Config;

public sealed class TunnelConfigFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("jvpn-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text, UnixFileMode? mode = null)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        if (mode is UnixFileMode m)
        {
            SetMode(path, m);
        }
        return path;
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            System.IO.File.SetUnixFileMode(path, mode);
        }
    }

    [Theory]
    [InlineData("/etc/wireguard/wg0.conf", "wg0")]
    [InlineData("wg0.conf", "wg0")]
    [InlineData("./a_b=c+d.e-f.conf", "a_b=c+d.e-f")]
    [InlineData("/x/123456789012345.conf", "123456789012345")]
    public void InterfaceNameFromPath(string path, string name) =>
        Assert.Equal(name, TunnelConfigParser.InterfaceNameFromPath(path));

    [Theory]
    [InlineData("/etc/wireguard/wg0")]
    [InlineData("/etc/wireguard/wg0.cfg")]
    [InlineData("/etc/wireguard/.conf")]
    [InlineData("/x/1234567890123456.conf")]
    [InlineData("/x/wg 0.conf")]
    [InlineData("/x/wg0.CONF")]
    public void BadFileNameIsAClearError(string path)
    {
        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.InterfaceNameFromPath(path));
        Assert.Equal(path, e.File);
        Assert.StartsWith(path + ": the file name must be an interface name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseFileNamesTheInterfaceAfterTheFile()
    {
        string path = Write("office.conf", Client, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        TunnelConfig c = TunnelConfigParser.ParseFile(path);

        Assert.Equal("office", c.InterfaceName);
        Assert.Equal(path, c.SourcePath);
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void ParseFileErrorsNameThePath()
    {
        string path = Write("wg1.conf", MinimalInterface + "Bogus = 1", UnixFileMode.UserRead | UnixFileMode.UserWrite);

        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));

        Assert.StartsWith($"{path}:3: Bogus: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile()
    {
        string path = Path.Combine(_dir, "nope.conf");
        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));
        Assert.Equal($"{path}: does not exist", e.Message);
    }

    [Fact]
    public void DirectoryInsteadOfFile()
    {
        string path = Directory.CreateDirectory(Path.Combine(_dir, "wg2.conf")).FullName;
        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));
        Assert.Equal(path, e.File);
        Assert.Contains("directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongSuffixOnAnExistingFile()
    {
        string path = Write("wg0.txt", Client);
        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));
        Assert.Contains("followed by .conf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnreadableFileGivesTheOsReason()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
        }
        string path = Write("wg3.conf", Client, UnixFileMode.None);
        if (!Environment.IsPrivilegedProcess)
        {
            ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));
            Assert.StartsWith(path + ": cannot be read: permission denied (run jvpn as root", e.Message, StringComparison.Ordinal);
            return;
        }

        // Root reads a mode-000 file anyway (CAP_DAC_OVERRIDE), so as root the same check runs where a user
        // meets it: `jvpn up` as nobody, which reads the configuration before asking for privileges.
        Requirements.EnsureTools("setpriv");
        SetMode(_dir, (UnixFileMode)0b111_101_101); // nobody may enter the directory, not read the file
        CommandResult r = Command.TryRun("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", Binaries.Dotnet(), Binaries.JvpnDll, "up", path]);
        Assert.True(r.ExitCode == 3, $"exit {r.ExitCode}: {r.StandardError}");
        string error = Assert.Single(r.StandardError.Trim().Split('\n'), l => !l.StartsWith("Warning:", StringComparison.Ordinal));
        Assert.Contains(path + ": cannot be read: permission denied (run jvpn as root", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void FileBehindADirectoryTheUserMayNotEnterIsUnreadableNotMissing()
    {
        // /etc/jvpn is root:jvpn 0750: for anyone outside the group its configs are hidden, not absent.
        Requirements.Ensure("setpriv");
        string path = Write("wg9.conf", Client, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        SetMode(_dir, (UnixFileMode)0b111_000_000);

        CommandResult r = Command.TryRun("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", Binaries.Dotnet(), Binaries.JvpnDll, "up", path]);

        Assert.True(r.ExitCode == 3, $"exit {r.ExitCode}: {r.StandardError}");
        Assert.Contains(path + ": cannot be read: permission denied", r.StandardError, StringComparison.Ordinal);
        Assert.Contains("chown root:jvpn FILE && chmod 640 FILE", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void WorldReadableFileInWorldReadableDirectoryIsRefused()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
        }
        SetMode(_dir, (UnixFileMode)0b111_101_101);
        string path = Write("wg4.conf", Client, (UnixFileMode)0b110_100_100);

        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));

        Assert.StartsWith(path + ": every user on this host can read or write it (mode 0644)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 {path}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"chown root:jvpn {path} && chmod 640 {path}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WorldWritableFileBehindAnEnterOnlyDirectoryIsRefused()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
        }
        // o+x on the directory is enough to open a file by name, though wg-quick's mask (file & dir & 7) is 0 here.
        SetMode(_dir, (UnixFileMode)0b111_001_001);
        string path = Write("wg6.conf", Client, (UnixFileMode)0b110_000_010);

        ConfigException e = Assert.Throws<ConfigException>(() => TunnelConfigParser.ParseFile(path));

        Assert.Contains("(mode 0602)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OthersExecuteBitOnlyStillWarnsLikeWgQuick()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
        }
        SetMode(_dir, (UnixFileMode)0b111_101_101);
        string path = Write("wg7.conf", Client, (UnixFileMode)0b110_000_001);

        string w = Assert.Single(TunnelConfigParser.ParseFile(path).Warnings);

        Assert.Contains("world accessible (mode 0601)", w, StringComparison.Ordinal);
    }

    [Fact]
    public void GroupReadableConfigAsPackagedIsReadByTheServiceGroup()
    {
        // The packaged layout: /etc/jvpn root:jvpn 0750, NAME.conf root:jvpn 0640, the unit runs as a member
        // of that group. Here group nogroup stands in for jvpn and `jvpn up` runs as nobody:nogroup, so it
        // must read the file and stop only at the missing CAP_NET_ADMIN.
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
        }
        Requirements.Ensure("setpriv", "chown");
        string path = Write("wg8.conf", Client, (UnixFileMode)0b110_100_000);
        Command.Run("chown", ["0:65534", _dir, path]);
        SetMode(_dir, (UnixFileMode)0b111_101_000);

        Assert.Empty(TunnelConfigParser.ParseFile(path).Warnings);
        CommandResult r = Command.TryRun("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", Binaries.Dotnet(), Binaries.JvpnDll, "up", path]);

        Assert.True(r.ExitCode == 4, $"exit {r.ExitCode}: {r.StandardError}");
        Assert.Contains("CAP_NET_ADMIN", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("cannot be read", r.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("world accessible", r.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void WorldReadableFileInPrivateDirectoryDoesNotWarnLikeWgQuick()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix permissions only");
        }
        SetMode(_dir, (UnixFileMode)0b111_000_000);
        string path = Write("wg5.conf", Client, (UnixFileMode)0b110_100_100);

        Assert.Empty(TunnelConfigParser.ParseFile(path).Warnings);
    }

    [Fact]
    public void ResolveConfigPathMapsBareNamesToEtcWireguard()
    {
        Assert.Equal("/etc/wireguard/wg0.conf", TunnelConfigParser.ResolveConfigPath("wg0"));
        Assert.Equal("./wg0.conf", TunnelConfigParser.ResolveConfigPath("./wg0.conf"));
        Assert.Equal("/tmp/x/wg0.conf", TunnelConfigParser.ResolveConfigPath("/tmp/x/wg0.conf"));
    }
}
