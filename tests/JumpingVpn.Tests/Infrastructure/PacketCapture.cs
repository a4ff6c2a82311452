using System.Diagnostics;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// `tcpdump -w` on one device inside a namespace. -U with --immediate-mode writes every packet as it
/// arrives (no kernel block timeout, no stdio buffer), so stopping with SIGTERM loses nothing already
/// seen; -Z root keeps tcpdump from dropping to its own user, who could not write into our temp dir.
/// Dispose stops tcpdump (by PID, through <see cref="ManagedProcess"/>) and deletes the file.
/// </summary>
internal sealed class PacketCapture : IDisposable
{
    private readonly ManagedProcess _process;
    private readonly string _directory;

    private PacketCapture(ManagedProcess process, string directory, string path)
    {
        _process = process;
        _directory = directory;
        FilePath = path;
    }

    public string FilePath { get; }

    /// <summary>Starts the capture and waits until tcpdump reports it is listening.</summary>
    public static PacketCapture Start(NetNs ns, string device, string filter, TimeSpan? readyTimeout = null)
    {
        string directory = Directory.CreateTempSubdirectory("jvpcap").FullName;
        string path = Path.Combine(directory, "capture.pcap");
        ManagedProcess process = ns.Start("tcpdump", ["-i", device, "-n", "-U", "--immediate-mode", "-Z", "root", "-w", path, filter]);
        var capture = new PacketCapture(process, directory, path);
        var clock = Stopwatch.StartNew();
        TimeSpan timeout = readyTimeout ?? TimeSpan.FromSeconds(10);
        while (!process.Output.Contains("listening on", StringComparison.Ordinal))
        {
            if (process.HasExited || clock.Elapsed > timeout)
            {
                string description = process.Describe();
                capture.Dispose();
                throw new InvalidOperationException($"tcpdump did not start listening on {device} in {ns.Name}:\n{description}");
            }
            Thread.Sleep(20);
        }
        return capture;
    }

    public string Describe() => _process.Describe();

    /// <summary>Stops tcpdump (SIGTERM, so it finishes the file) and reads the UDP datagrams it saw.</summary>
    public List<CapturedUdp> StopAndReadUdp()
    {
        _process.Signal();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
        {
            throw new TimeoutException($"tcpdump did not stop:\n{_process.Describe()}");
        }
        return PcapFile.ReadUdp(FilePath);
    }

    public void Dispose()
    {
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }
}
