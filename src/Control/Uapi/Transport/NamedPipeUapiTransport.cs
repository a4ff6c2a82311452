using System.IO.Pipes;
using System.Runtime.Versioning;
using System.Threading.Channels;
using JumpingVpn.Platform.Ipc;

namespace JumpingVpn.Control.Uapi.Transport;

/// <summary>
/// UAPI over a named pipe, the Windows transport (docs/design.md §7). jvpn uses the pipe name wireguard-go uses on
/// Windows (ipc/uapi_windows.go), <c>\\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME</c>, so
/// wg.exe finds jvpn the way it finds wireguard-go: only an elevated Administrator or SYSTEM can create a
/// pipe under ProtectedPrefix\Administrators, so no unprivileged process can squat on the name, and the
/// pipe's DACL (<see cref="PipeSecuritySddl"/>) admits only SYSTEM and Administrators, like wireguard-go's.
/// Each pipe instance serves one client; several wait at once and each taken one is replaced at once, so the
/// name never disappears while the interface runs (a pipe vanishes with its last instance, which is also why
/// a crashed jvpn leaves nothing stale behind on Windows).
/// </summary>
/// <remarks>
/// On Unix .NET implements named pipes over Unix sockets, and an absolute pipe name is the socket path
/// (<see cref="InDirectory"/>). jvpn's Linux production path stays on <see cref="UnixSocketUapiTransport"/>
/// (what wg(8) reads); the pipe transport runs on Linux only in tests, which is how this exact code path is
/// exercised without Windows.
/// </remarks>
public sealed class NamedPipeUapiTransport : IUapiTransport
{
    /// <summary>The namespace wg.exe and wireguard-go use (wireguard-tools ipc-uapi-windows.h).</summary>
    public const string WireGuardPipePrefix = @"ProtectedPrefix\Administrators\WireGuard\";

    /// <summary>Where Windows lists pipes (FindFirstFile on the NPFS root).</summary>
    public const string WindowsPipeRoot = @"\\.\pipe\";

    /// <summary>Protected DACL: GENERIC_ALL for LocalSystem and BUILTIN\Administrators, nobody else.
    /// The owner is left to the creator, which is SYSTEM for the service (wg.exe checks that).</summary>
    public const string PipeSecuritySddl = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";

    private readonly string _pipeNamePrefix;
    private readonly string _listingRoot;
    private readonly string _addressPrefix;

    internal NamedPipeUapiTransport(string pipeNamePrefix, string listingRoot, string addressPrefix)
    {
        _pipeNamePrefix = pipeNamePrefix;
        _listingRoot = listingRoot;
        _addressPrefix = addressPrefix;
    }

    /// <summary>The Windows transport: <c>\\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME</c>.</summary>
    public static NamedPipeUapiTransport WireGuardWindows() =>
        new(WireGuardPipePrefix, WindowsPipeRoot, WindowsPipeRoot + WireGuardPipePrefix);

    /// <summary>Unix only: pipes as sockets <c>DIRECTORY/NAME</c> (tests).</summary>
    [UnsupportedOSPlatform("windows")]
    public static NamedPipeUapiTransport InDirectory(string directory)
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + "/";
        return new NamedPipeUapiTransport(root, root, root);
    }

    /// <summary>The name given to NamedPipeServerStream / NamedPipeClientStream.</summary>
    public string PipeName(string interfaceName)
    {
        UapiPaths.ValidateInterfaceName(interfaceName);
        return _pipeNamePrefix + interfaceName;
    }

    public string Address(string interfaceName)
    {
        UapiPaths.ValidateInterfaceName(interfaceName);
        return _addressPrefix + interfaceName;
    }

    public IUapiListener Listen(string interfaceName)
    {
        string pipeName = PipeName(interfaceName);
        string address = Address(interfaceName);
        NamedPipeServerStream first;
        if (Hosting.HostComposition.Current.NativeNamedPipes)
        {
            if (NamedPipeProbe.Exists(address))
            {
                throw new UapiInterfaceRunningException($"interface {interfaceName} is already running (a process serves {address})");
            }
            try
            {
                // FIRST_PIPE_INSTANCE closes the race between that check and this call.
                first = CreateWindowsInstance(pipeName, firstInstance: true);
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
            {
                // FILE_FLAG_FIRST_PIPE_INSTANCE fails with ERROR_ACCESS_DENIED when the pipe exists, and a
                // pipe exists only while a live process holds an instance.
                throw Exists(interfaceName)
                    ? new UapiInterfaceRunningException($"interface {interfaceName} is already running (a process serves {address})", ex)
                    : new InvalidOperationException($"cannot create {address}: {ex.Message} (run elevated, as Administrator or SYSTEM)", ex);
            }
        }
        else
        {
            if (File.Exists(address))
            {
                if (UnixSocketUapiTransport.IsAnswering(address))
                {
                    throw new UapiInterfaceRunningException($"interface {interfaceName} is already running (a process answers on {address})");
                }
                File.Delete(address); // left by a crashed process
            }
            first = CreateUnixInstance(pipeName);
            File.SetUnixFileMode(address, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return new Listener(pipeName, address, first);
    }

    public Stream Connect(string interfaceName, TimeSpan timeout)
    {
        string address = Address(interfaceName);
        if (!Exists(interfaceName))
        {
            throw new UapiInterfaceNotRunningException($"no interface {interfaceName} is running (pipe {address} not found)");
        }
        var client = new NamedPipeClientStream(".", PipeName(interfaceName), PipeDirection.InOut, PipeOptions.None);
        try
        {
            // The pipe exists (checked above), so waiting means all instances are busy: wait up to the timeout.
            client.Connect((int)timeout.TotalMilliseconds);
            return client;
        }
        catch (TimeoutException ex)
        {
            client.Dispose();
            throw new UapiInterfaceNotRunningException($"no interface {interfaceName} is running (nothing answers on {address})", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            client.Dispose();
            throw new UapiException($"permission denied on {address}; the control pipe admits only Administrators and SYSTEM (run elevated)", ex);
        }
        catch (IOException ex)
        {
            client.Dispose();
            throw new UapiException($"cannot connect to {address}: {ex.Message}", ex);
        }
    }

    public bool Exists(string interfaceName)
    {
        string address = Address(interfaceName);
        if (!Hosting.HostComposition.Current.NativeNamedPipes)
        {
            return File.Exists(address);
        }
        // File.Exists on a pipe path may open (and so use up) an instance; WaitNamedPipe never connects.
        return NamedPipeProbe.Exists(address);
    }

    public IReadOnlyList<string> ListInterfaces()
    {
        var names = new List<string>();
        foreach (string path in EnumeratePipePaths())
        {
            if (!path.StartsWith(_addressPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            string name = path[_addressPrefix.Length..];
            if (!IsValidName(name))
            {
                continue;
            }
            // Windows pipes exist only while served; a Unix socket file may be stale.
            if (Hosting.HostComposition.Current.NativeNamedPipes || UnixSocketUapiTransport.IsAnswering(path))
            {
                names.Add(name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private IEnumerable<string> EnumeratePipePaths()
    {
        try
        {
            return Directory.Exists(_listingRoot) || Hosting.HostComposition.Current.NativeNamedPipes
                ? [.. Directory.EnumerateFiles(_listingRoot)]
                : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool IsValidName(string name)
    {
        try
        {
            UapiPaths.ValidateInterfaceName(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static NamedPipeServerStream CreateInstance(string pipeName) =>
        Hosting.HostComposition.Current.NativeNamedPipes ? CreateWindowsInstance(pipeName, firstInstance: false) : CreateUnixInstance(pipeName);

    [SupportedOSPlatform("windows")]
    private static NamedPipeServerStream CreateWindowsInstance(string pipeName, bool firstInstance)
    {
        var security = new PipeSecurity();
        security.SetSecurityDescriptorSddlForm(PipeSecuritySddl);
        PipeOptions options = PipeOptions.Asynchronous | (firstInstance ? PipeOptions.FirstPipeInstance : PipeOptions.None);
        return NamedPipeServerStreamAcl.Create(pipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances,
            PipeTransmissionMode.Byte, options, inBufferSize: 0, outBufferSize: 0, security);
    }

    private static NamedPipeServerStream CreateUnixInstance(string pipeName) =>
        new(pipeName, PipeDirection.InOut, NamedPipeServerStream.MaxAllowedServerInstances, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);

    /// <summary>
    /// Keeps <see cref="WaitingInstances"/> instances waiting, each in its own wait loop that hands connected
    /// instances to AcceptAsync through a channel and then puts a fresh instance in its place. With several
    /// instances waiting, a burst of clients rarely finds them all busy (then a client waits in
    /// WaitNamedPipe until one is free, up to its timeout).
    /// </summary>
    private sealed class Listener : IUapiListener
    {
        private const int WaitingInstances = 4;

        private readonly string _pipeName;
        private readonly Channel<Stream> _connected = Channel.CreateUnbounded<Stream>(new UnboundedChannelOptions { SingleReader = true });
        private readonly CancellationTokenSource _stop = new();
        private readonly List<NamedPipeServerStream> _waiting = [];
        private readonly Lock _lock = new();
        private int _disposed;

        public Listener(string pipeName, string address, NamedPipeServerStream first)
        {
            _pipeName = pipeName;
            Address = address;
            _ = WaitLoopAsync(first);
            for (int i = 1; i < WaitingInstances; i++)
            {
                _ = WaitLoopAsync(CreateInstance(pipeName));
            }
        }

        public string Address { get; }

        public ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken) => _connected.Reader.ReadAsync(cancellationToken);

        private async Task WaitLoopAsync(NamedPipeServerStream instance)
        {
            try
            {
                while (true)
                {
                    lock (_lock)
                    {
                        if (_disposed != 0)
                        {
                            instance.Dispose();
                            return;
                        }
                        _waiting.Add(instance);
                    }
                    await instance.WaitForConnectionAsync(_stop.Token).ConfigureAwait(false);
                    lock (_lock)
                    {
                        _waiting.Remove(instance);
                    }
                    if (!_connected.Writer.TryWrite(instance))
                    {
                        await instance.DisposeAsync().ConfigureAwait(false); // stopping
                        return;
                    }
                    instance = CreateInstance(_pipeName);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException)
            {
                // Stopping, or this instance broke: the others keep serving.
                await instance.DisposeAsync().ConfigureAwait(false);
            }
        }

        public void Dispose()
        {
            NamedPipeServerStream[] waiting;
            lock (_lock)
            {
                if (Interlocked.Exchange(ref _disposed, 1) != 0)
                {
                    return;
                }
                waiting = [.. _waiting];
                _waiting.Clear();
            }
            _connected.Writer.TryComplete();
            _stop.Cancel();
            foreach (NamedPipeServerStream instance in waiting)
            {
                instance.Dispose();
            }
            while (_connected.Reader.TryRead(out Stream? unserved))
            {
                unserved.Dispose();
            }
            if (!Hosting.HostComposition.Current.NativeNamedPipes && File.Exists(Address))
            {
                File.Delete(Address);
            }
            _stop.Dispose();
        }
    }
}
