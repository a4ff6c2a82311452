using System.Security.Cryptography;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Control.Uapi.Transport;
using static JumpingVpn.Tests.Control.Uapi.UapiTestData;

namespace JumpingVpn.Tests.Control.Uapi;

/// <summary>Which transport the factory picks, and their names (pure; no sockets).</summary>
public sealed class UapiTransportSelectionTests
{
    [Fact]
    public void WindowsGetsTheWireGuardNamedPipe()
    {
        var pipe = Assert.IsType<NamedPipeUapiTransport>(UapiTransports.ForOs(windows: true));

        Assert.Equal(@"ProtectedPrefix\Administrators\WireGuard\jv0", pipe.PipeName("jv0"));
        Assert.Equal(@"\\.\pipe\ProtectedPrefix\Administrators\WireGuard\jv0", pipe.Address("jv0"));
    }

    [Fact]
    public void OtherSystemsGetTheUnixSocketWgReads()
    {
        var unix = Assert.IsType<UnixSocketUapiTransport>(UapiTransports.ForOs(windows: false));

        Assert.Equal("/var/run/wireguard/jv0.sock", unix.Address("jv0"));
    }

    [Fact]
    public void DefaultOnLinuxIsTheUnixSocketAndADirectoryOverridesIt()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the production default is checked on Linux");
        Assert.Equal("/var/run/wireguard", Assert.IsType<UnixSocketUapiTransport>(UapiTransports.Default).SocketDirectory);
        Assert.Equal("/tmp/x", Assert.IsType<UnixSocketUapiTransport>(UapiTransports.For("/tmp/x")).SocketDirectory);
        Assert.Same(UapiTransports.Default, UapiTransports.For(null));
    }

    [Fact]
    public void PipeDaclAdmitsOnlySystemAndAdministrators() =>
        // Protected DACL ("P": no inherited entries) with GENERIC_ALL for SY and BA and nothing else.
        Assert.Equal("D:P(A;;GA;;;SY)(A;;GA;;;BA)", NamedPipeUapiTransport.PipeSecuritySddl);

    [Theory]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("sixteen-chars-xx")]
    public void PipeNamesAreValidatedLikeSocketNames(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => NamedPipeUapiTransport.WireGuardWindows().PipeName(name));
}

/// <summary>
/// The named-pipe transport end to end. On Linux .NET builds NamedPipeServerStream/ClientStream on Unix
/// sockets, so this runs the same pipe code Windows runs (instance hand-over, stream-based server and
/// client) in a private directory, without root.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NamedPipeUapiTransportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jvp-").FullName;
    private readonly string _name = "jvp" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
    private readonly FakeUapiDevice _device = new() { PrivateKey = CountingKey(0x80), ListenPort = 51820 };
    private readonly NamedPipeUapiTransport _pipe;

    public NamedPipeUapiTransportTests()
    {
        _device.AddPeer(PeerA);
        _device.AddPeer(PeerB);
        _pipe = NamedPipeUapiTransport.InDirectory(_directory);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private UapiServer StartServer() => UapiServer.Start(_name, _device, _pipe);

    [Fact]
    public void GetSetAndExtensionsWorkOverThePipe()
    {
        using UapiServer server = StartServer();
        server.Extension = (op, _) => op == "jvpn_down=1" ? UapiProtocol.FormatResponse(string.Empty, UapiErrno.None) : null;

        Assert.Equal(Path.Combine(_directory, _name), server.SocketPath);
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_pipe, _name));
        Assert.Equal("errno=0\n\n", UapiClient.Request(_pipe, _name, $"set=1\nlisten_port=4242\npublic_key={Hex(Key(7))}\n\n"));
        Assert.Equal(4242, Assert.Single(_device.Requests).ListenPort);
        Assert.Equal("errno=0\n\n", UapiClient.Request(_pipe, _name, "jvpn_down=1"));
        Assert.Equal("errno=-22\n\n", UapiClient.Request(_pipe, _name, "other=1\n\n"));
    }

    [Fact]
    public async Task ManyClientsOneAfterAnotherAndAtOnceAreAllServed()
    {
        using UapiServer server = StartServer();
        string expected = UapiProtocol.FormatGet(Device);

        // Each connection takes the waiting pipe instance; the listener must have put a new one in place.
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(expected, UapiClient.Get(_pipe, _name));
        }
        var parallel = new Task<string>[16];
        for (int i = 0; i < parallel.Length; i++)
        {
            parallel[i] = Task.Run(() => UapiClient.Get(_pipe, _name), TestContext.Current.CancellationToken);
        }
        foreach (string answer in await Task.WhenAll(parallel))
        {
            Assert.Equal(expected, answer);
        }
    }

    [Fact]
    public void ListExistsAndDisposeRemoveThePipe()
    {
        using (UapiServer server = StartServer())
        {
            Assert.True(_pipe.Exists(_name));
            Assert.Equal([_name], _pipe.ListInterfaces());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_pipe.Address(_name)));
        }

        Assert.False(_pipe.Exists(_name));
        Assert.Empty(_pipe.ListInterfaces());
        Assert.Throws<UapiInterfaceNotRunningException>(() => UapiClient.Get(_pipe, _name));
    }

    [Fact]
    public void ASecondServerForTheSameNameIsRefusedAndTheFirstKeepsServing()
    {
        using UapiServer server = StartServer();

        var ex = Assert.Throws<UapiInterfaceRunningException>(StartServer);

        Assert.Contains($"interface {_name} is already running", ex.Message, StringComparison.Ordinal);
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_pipe, _name));
    }

    [Fact]
    public void NotRunningNamesThePipe()
    {
        var ex = Assert.Throws<UapiInterfaceNotRunningException>(() => UapiClient.Get(_pipe, _name));

        Assert.Equal($"no interface {_name} is running (pipe {Path.Combine(_directory, _name)} not found)", ex.Message);
    }
}
