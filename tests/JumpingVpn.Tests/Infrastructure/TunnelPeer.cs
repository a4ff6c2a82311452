using System.Diagnostics;

namespace JumpingVpn.Tests.Infrastructure;

internal enum PeerKind
{
    Jvpn,
    WireGuardGo,
}

/// <summary>A running VPN endpoint inside a namespace that serves the WireGuard UAPI socket
/// /var/run/wireguard/IFNAME.sock. That path is shared by every namespace (one filesystem), so
/// interface names must be unique per test.</summary>
internal abstract class TunnelPeer : IDisposable
{
    private readonly string _workDirectory;
    private bool _disposed;

    protected TunnelPeer(NetNs ns, string interfaceName, TunnelConfig config)
    {
        Namespace = ns;
        InterfaceName = interfaceName;
        Config = config;
        _workDirectory = Directory.CreateTempSubdirectory("jvpn-e2e-").FullName;
    }

    public abstract PeerKind Kind { get; }

    public NetNs Namespace { get; }

    public string InterfaceName { get; }

    public TunnelConfig Config { get; }

    /// <summary>The daemon; set by the subclass once started.</summary>
    public ManagedProcess? Process { get; protected set; }

    public string SocketPath => $"/var/run/wireguard/{InterfaceName}.sock";

    public WgDump Show() => WgDump.Read(Namespace, InterfaceName);

    public string Describe() =>
        $"--- {Kind} {InterfaceName} in {Namespace.Name} ---\n{Process?.Describe() ?? "(not started)"}";

    /// <summary>Writes a file readable only by root (it holds a private key).</summary>
    protected string WriteFile(string fileName, string contents)
    {
        string path = Path.Combine(_workDirectory, fileName);
        File.WriteAllText(path, contents);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }

    /// <summary>
    /// Ready means the UAPI socket answers `wg show IFNAME`: the daemon creates it last, after the TUN device,
    /// addresses, routes and the store (InterfaceHost.Up), so it answers only once the interface is up. Fails early
    /// if the daemon exits. <paramref name="timeout"/> is the budget on a machine with a core to spare; it stretches
    /// with the load average (<see cref="ReadyWait.Budget"/>), because a start needs little CPU but waits for it: at
    /// load 39 on 2 cores a plain `jvpn up` took 9.3 s to its socket with 0.28 s of CPU, and cluster nodes under the
    /// full suite's load passed a fixed 20 s without ever creating it.
    /// </summary>
    protected void WaitUntilReady(TimeSpan timeout)
    {
        ManagedProcess process = Process ?? throw new InvalidOperationException("not started");
        var clock = Stopwatch.StartNew();
        string lastError = "";
        TimeSpan budget = ReadyWait.Budget(timeout);
        while (clock.Elapsed < budget)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Kind} exited before it was ready.\n{Describe()}");
            }
            if (File.Exists(SocketPath))
            {
                CommandResult show = Namespace.TryExec("wg", ["show", InterfaceName], TimeSpan.FromSeconds(5));
                if (show.ExitCode == 0)
                {
                    return;
                }
                lastError = show.StandardError.Trim();
            }
            else
            {
                lastError = $"no socket {SocketPath} yet";
            }
            Thread.Sleep(50);
            budget = ReadyWait.Budget(timeout, budget);
        }
        throw new TimeoutException(
            $"{Kind} not ready after {clock.Elapsed.TotalSeconds:0} s (budget {timeout.TotalSeconds:0} s stretched by the load: {File.ReadAllText("/proc/loadavg").Trim()}): `wg show {InterfaceName}` did not answer ({lastError}).\n{Describe()}");
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Process?.Dispose();
        // A daemon that had to be killed leaves its socket file behind; the name is ours alone.
        // (Tests that check clean teardown look before Dispose.)
        File.Delete(SocketPath);
        try
        {
            Directory.Delete(_workDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
