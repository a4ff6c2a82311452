using System.Globalization;
using System.Security.Cryptography;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>A network namespace named <c>jv&lt;purpose&gt;&lt;6 hex&gt;</c>, with loopback up. Processes started
/// through it are tracked; Dispose stops them, kills anything else still inside, and deletes the
/// namespace (which destroys its veth ends and any TUN devices whose owners are gone).</summary>
internal sealed class NetNs : IDisposable
{
    private readonly List<ManagedProcess> _processes = [];
    private bool _disposed;

    private NetNs(string name) => Name = name;

    public string Name { get; }

    public static NetNs Create(string purpose)
    {
        for (int attempt = 0; ; attempt++)
        {
            string name = "jv" + purpose + RandomHex(3);
            CommandResult add = Command.TryRun("ip", ["netns", "add", name]);
            if (add.ExitCode == 0)
            {
                var ns = new NetNs(name);
                try
                {
                    ns.Ip("link", "set", "lo", "up");
                }
                catch
                {
                    ns.Dispose();
                    throw;
                }
                return ns;
            }
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"{add.CommandLine} failed: {add.StandardError.Trim()}");
            }
        }
    }

    /// <summary>Random lowercase hex of <paramref name="bytes"/> bytes, for unique names.</summary>
    public static string RandomHex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>Runs a command inside the namespace; throws with the command line and stderr on failure.</summary>
    public CommandResult Exec(string file, params string[] arguments) => Exec(file, arguments, Command.DefaultTimeout);

    public CommandResult Exec(string file, IEnumerable<string> arguments, TimeSpan timeout) =>
        Command.Run("ip", ExecArguments(file, arguments), timeout);

    public CommandResult TryExec(string file, IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        Command.TryRun("ip", ExecArguments(file, arguments), timeout);

    /// <summary>`ip -n NAME ...`: iproute2 configuration of this namespace.</summary>
    public CommandResult Ip(params string[] arguments) => Command.Run("ip", ["-n", Name, .. arguments]);

    /// <summary>Starts a long-running process inside the namespace; it is stopped on Dispose.</summary>
    public ManagedProcess Start(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ManagedProcess process = ManagedProcess.Start(file, arguments, Name, environment);
        lock (_processes)
        {
            _processes.Add(process);
        }
        return process;
    }

    public void AddAddress(string device, string cidr)
    {
        // nodad: IPv6 duplicate address detection would hold the address "tentative" for ~2 s.
        if (cidr.Contains(':', StringComparison.Ordinal))
        {
            Ip("-6", "addr", "add", cidr, "dev", device, "nodad");
        }
        else
        {
            Ip("addr", "add", cidr, "dev", device);
        }
    }

    /// <summary>Creates a veth pair directly between two namespaces (never touching the host
    /// namespace), assigns the addresses and brings both ends up.</summary>
    public static void ConnectVeth(NetNs a, string aDevice, IEnumerable<string> aAddresses, NetNs b, string bDevice, IEnumerable<string> bAddresses)
    {
        a.Ip("link", "add", aDevice, "type", "veth", "peer", "name", bDevice, "netns", b.Name);
        foreach (string cidr in aAddresses)
        {
            a.AddAddress(aDevice, cidr);
        }
        foreach (string cidr in bAddresses)
        {
            b.AddAddress(bDevice, cidr);
        }
        a.Ip("link", "set", aDevice, "up");
        b.Ip("link", "set", bDevice, "up");
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        List<ManagedProcess> processes;
        lock (_processes)
        {
            processes = [.. _processes];
            _processes.Clear();
        }
        // Stop our own processes gracefully, newest first (clients before the servers they use).
        for (int i = processes.Count - 1; i >= 0; i--)
        {
            processes[i].Dispose();
        }
        // Anything else still inside (e.g. a grandchild) keeps the namespace alive: kill it by PID.
        CommandResult pids = Command.TryRun("ip", ["netns", "pids", Name]);
        foreach (string line in pids.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                try
                {
                    using var leftover = System.Diagnostics.Process.GetProcessById(pid);
                    leftover.Kill(entireProcessTree: true);
                    leftover.WaitForExit(TimeSpan.FromSeconds(5));
                }
                catch (ArgumentException)
                {
                    // Already exited.
                }
                catch (InvalidOperationException)
                {
                    // Already exited.
                }
            }
        }
        Command.TryRun("ip", ["netns", "del", Name]);
    }

    private string[] ExecArguments(string file, IEnumerable<string> arguments) =>
        ["netns", "exec", Name, Binaries.Find(file), .. arguments];
}
