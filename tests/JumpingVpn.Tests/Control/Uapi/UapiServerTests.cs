using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform.Net;
using static JumpingVpn.Tests.Control.Uapi.UapiTestData;

namespace JumpingVpn.Tests.Control.Uapi;

/// <summary>UapiServer and UapiClient over a real Unix socket in a private temp directory (no root).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class UapiServerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jvu-").FullName;
    private readonly string _name = "jvu" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
    private readonly FakeUapiDevice _device = new() { PrivateKey = CountingKey(0x80), ListenPort = 51820 };

    public UapiServerTests()
    {
        _device.AddPeer(PeerA);
        _device.AddPeer(PeerB);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private UapiServer StartServer() => UapiServer.Start(_name, _device, socketDirectory: _directory);

    [Fact]
    public void GetReturnsTheDeviceSnapshotInWireFormat()
    {
        using UapiServer server = StartServer();

        string response = UapiClient.Get(_name, _directory);

        Assert.Equal(UapiProtocol.FormatGet(Device), response);
        UapiDeviceSnapshot snapshot = UapiClient.GetSnapshot(_name, _directory);
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiProtocol.FormatGet(snapshot));
    }

    [Fact]
    public void SetIsParsedAndAppliedToTheDevice()
    {
        using UapiServer server = StartServer();

        int errno = UapiClient.Set(_name, $"listen_port=4242\npublic_key={Hex(Key(7))}\nallowed_ip=10.7.0.0/16\n", _directory);

        Assert.Equal(0, errno);
        UapiSetRequest request = Assert.Single(_device.Requests);
        Assert.Equal(4242, request.ListenPort);
        Assert.Equal([IpPrefix.Parse("10.7.0.0/16")], Assert.Single(request.Peers).AllowedIps);
        Assert.Equal(4242, UapiClient.GetSnapshot(_name, _directory).ListenPort);
        Assert.Equal(3, UapiClient.GetSnapshot(_name, _directory).Peers.Count);
    }

    [Fact]
    public void StructuredSetRoundTripsThroughTheSocket()
    {
        using UapiServer server = StartServer();
        var request = new UapiSetRequest { ReplacePeers = true };
        request.Peers.Add(new UapiPeerChange(Key(5)) { PersistentKeepaliveSeconds = 15 });

        Assert.Equal(0, UapiClient.Set(_name, request, _directory));

        UapiPeerSnapshot peer = Assert.Single(UapiClient.GetSnapshot(_name, _directory).Peers);
        Assert.Equal(15, peer.PersistentKeepaliveSeconds);
    }

    [Fact]
    public void MalformedSetGetsAnErrnoAndTheServerKeepsServing()
    {
        using UapiServer server = StartServer();

        Assert.Equal("errno=-71\n\n", UapiClient.Request(_name, "set=1\nno equals sign\n\n", _directory));
        Assert.Equal("errno=-22\n\n", UapiClient.Request(_name, "set=1\nprotocol_version=1\n\n", _directory));
        Assert.Equal("errno=-22\n\n", UapiClient.Request(_name, "get=1\nlisten_port=1\n\n", _directory));
        Assert.Empty(_device.Requests);
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_name, _directory));
    }

    [Fact]
    public void DeviceErrorsAreReportedWithTheDevicesErrno()
    {
        using UapiServer server = StartServer();
        _device.FailWith = UapiResult.Error(UapiErrno.PortInUse, "port taken");

        Assert.Equal(UapiErrno.PortInUse, UapiClient.Set(_name, "listen_port=1", _directory));
    }

    [Fact]
    public void AThrowingDeviceBecomesErrnoUnknown()
    {
        using UapiServer server = StartServer();
        _device.ThrowOnGet = true;

        Assert.Equal("errno=-55\n\n", UapiClient.Get(_name, _directory));
        UapiException ex = Assert.Throws<UapiException>(() => UapiClient.GetSnapshot(_name, _directory));
        Assert.Equal(UapiErrno.Unknown, ex.Errno);
    }

    [Fact]
    public void UnknownOperationsGetEinvalUnlessAnExtensionHandlesThem()
    {
        using UapiServer server = StartServer();
        Assert.Equal("errno=-22\n\n", UapiClient.Request(_name, "jvpn-status=1\n\n", _directory));

        server.Extension = (operation, body) => operation == "jvpn-status=1"
            ? UapiProtocol.FormatResponse($"state=up\nlines={body.Count}", UapiErrno.None)
            : null;

        Assert.Equal("state=up\nlines=2\nerrno=0\n\n", UapiClient.Request(_name, "jvpn-status=1\na=1\nb=2\n\n", _directory));
        Assert.Equal("errno=-22\n\n", UapiClient.Request(_name, "other=1\n\n", _directory));

        server.Extension = (_, _) => throw new InvalidOperationException("boom");
        Assert.Equal("errno=-55\n\n", UapiClient.Request(_name, "jvpn-status=1\n\n", _directory));
    }

    [Fact]
    public async Task SeveralRequestsShareOneConnection()
    {
        using UapiServer server = StartServer();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath), TestContext.Current.CancellationToken);

        await socket.SendAsync(Encoding.UTF8.GetBytes("set=1\nlisten_port=9\n\nget=1\n\n"), TestContext.Current.CancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        string all = await ReadToEndAsync(socket);

        Assert.StartsWith("errno=0\n\nprivate_key=", all, StringComparison.Ordinal);
        Assert.Contains("\nlisten_port=9\n", all, StringComparison.Ordinal);
        Assert.EndsWith("errno=0\n\n", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASetCutOffBeforeItsBlankLineAppliesNothing()
    {
        var logger = new ListLogger();
        using UapiServer server = UapiServer.Start(_name, _device, logger, _directory);

        // Cut off mid-request: the peer's allowed IPs never arrive, so applying the rest would be wrong.
        string answer = await SendAndCloseAsync(server, $"set=1\nreplace_peers=true\npublic_key={Hex(Key(7))}\n");

        Assert.Equal("errno=-71\n\n", answer);
        Assert.Empty(_device.Requests);
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_name, _directory));
        Assert.Contains(logger.Messages, m => m.Contains("nothing applied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ALineWithoutEqualsSignIsRefusedWithoutLoggingItsText()
    {
        var logger = new ListLogger();
        using UapiServer server = UapiServer.Start(_name, _device, logger, _directory);
        string pastedKey = Hex(Key(0x33));

        string answer = await SendAndCloseAsync(server, $"set=1\n{pastedKey}\n\nget=1\n{pastedKey}\n\n{pastedKey}\n\n");

        Assert.Equal("errno=-71\n\nerrno=-22\n\nerrno=-22\n\n", answer);
        Assert.Empty(_device.Requests);
        Assert.Equal(3, logger.Messages.Count(m => m.Contains("failed with errno", StringComparison.Ordinal)));
        Assert.All(logger.Messages, m => Assert.DoesNotContain(pastedKey[..16], m, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(logger.Messages, m => m.Contains("line 1 is a line without '='", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOverlongLineGetsEprotoAndTheConnectionIsClosed()
    {
        using UapiServer server = StartServer();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath), TestContext.Current.CancellationToken);

        await socket.SendAsync(Encoding.UTF8.GetBytes("set=1\nx=" + new string('a', 10_000)), TestContext.Current.CancellationToken);

        Assert.Equal("errno=-71\n\n", await ReadToEndAsync(socket));
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_name, _directory));
    }

    [Fact]
    public void SocketIsOwnerOnlyAndDisposeDeletesIt()
    {
        string path;
        using (UapiServer server = StartServer())
        {
            path = server.SocketPath;
            Assert.Equal(Path.Combine(_directory, _name + ".sock"), path);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal([_name], UapiClient.ListInterfaces(_directory));
        }

        Assert.False(File.Exists(path));
        Assert.Empty(UapiClient.ListInterfaces(_directory));
    }

    [Fact]
    public void StartReplacesAStaleSocketFile()
    {
        string path = UapiPaths.SocketPath(_name, _directory);
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            // A crashed process leaves its socket file behind. .NET unlinks the path it bound on Dispose,
            // so move the file aside while disposing to keep the dead socket inode.
            dead.Bind(new UnixDomainSocketEndPoint(path));
            File.Move(path, path + ".keep");
        }
        File.Move(path + ".keep", path);
        Assert.True(File.Exists(path));
        Assert.Throws<UapiInterfaceNotRunningException>(() => UapiClient.Get(_name, _directory));

        using UapiServer server = StartServer();

        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_name, _directory));
    }

    [Fact]
    public void StartRefusesAnInterfaceThatIsAlreadyRunning()
    {
        using UapiServer server = StartServer();

        var ex = Assert.Throws<UapiInterfaceRunningException>(StartServer);

        Assert.Contains($"interface {_name} is already running", ex.Message, StringComparison.Ordinal);
        Assert.Equal(UapiProtocol.FormatGet(Device), UapiClient.Get(_name, _directory)); // first one unharmed
    }

    [Fact]
    public void ClientSaysWhichInterfaceIsNotRunning()
    {
        var ex = Assert.Throws<UapiInterfaceNotRunningException>(() => UapiClient.Get(_name, _directory));

        Assert.Equal($"no interface {_name} is running (socket {_directory}/{_name}.sock not found)", ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("has space")]
    [InlineData("sixteen-chars-xx")]
    public void InvalidInterfaceNamesAreRejected(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => UapiPaths.SocketPath(name));

    /// <summary>Sends <paramref name="requests"/> raw, closes the sending side and returns every answer.</summary>
    private static async Task<string> SendAndCloseAsync(UapiServer server, string requests)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath), TestContext.Current.CancellationToken);
        await socket.SendAsync(Encoding.UTF8.GetBytes(requests), TestContext.Current.CancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        return await ReadToEndAsync(socket);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, TestContext.Current.CancellationToken)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // The server hung up with our unread bytes still queued; Linux then resets after the answer.
        }
        return text.ToString();
    }
}
