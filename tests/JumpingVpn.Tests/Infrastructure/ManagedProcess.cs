using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>A long-running child process (a VPN daemon, an iperf3 server, a ping). Its output goes
/// into a bounded buffer for failure messages. Dispose sends SIGTERM (so daemons tear down their
/// interface and socket), then kills the process tree by PID after a grace period.</summary>
internal sealed partial class ManagedProcess : IDisposable
{
    private const int MaxBufferedChars = 64 * 1024;
    private static readonly TimeSpan TerminateGrace = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _commandLine;
    private bool _disposed;

    private ManagedProcess(Process process, string commandLine)
    {
        _process = process;
        _commandLine = commandLine;
    }

    public int Id => _process.Id;

    public string CommandLine => _commandLine;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="file"/>, inside <paramref name="netns"/> when given (via
    /// `ip netns exec`, which execs the command so the PID is the command's own).</summary>
    public static ManagedProcess Start(string file, IEnumerable<string> arguments, string? netns = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (netns is null)
        {
            startInfo.FileName = Binaries.Find(file);
        }
        else
        {
            startInfo.FileName = Binaries.Find("ip");
            startInfo.ArgumentList.Add("netns");
            startInfo.ArgumentList.Add("exec");
            startInfo.ArgumentList.Add(netns);
            startInfo.ArgumentList.Add(Binaries.Find(file));
        }
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        if (environment is not null)
        {
            foreach ((string key, string value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }
        string commandLine = Command.Format(startInfo);
        var process = new Process { StartInfo = startInfo };
        var managed = new ManagedProcess(process, commandLine);
        process.OutputDataReceived += (_, e) => managed.Append("out", e.Data);
        process.ErrorDataReceived += (_, e) => managed.Append("err", e.Data);
        if (!process.Start())
        {
            process.Dispose();
            throw new InvalidOperationException($"could not start: {commandLine}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>Everything captured so far (stdout and stderr interleaved, lines prefixed), the oldest
    /// part dropped beyond 64 KiB.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The command line, exit state and captured output, for failure messages.</summary>
    public string Describe()
    {
        string state = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"running as PID {_process.Id}";
        return $"{_commandLine} ({state})\n{Output}";
    }

    /// <summary>
    /// Waits until the process has printed <paramref name="marker"/> (a server saying it is ready); throws with
    /// <see cref="Describe"/> when it exits first or <paramref name="timeout"/> passes.
    /// </summary>
    public void WaitForOutput(string marker, TimeSpan timeout, string name)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Output.Contains(marker, StringComparison.Ordinal))
            {
                return;
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited before it printed '{marker}': {Describe()}");
            }
            Thread.Sleep(20);
        }
        throw new InvalidOperationException($"{name} did not print '{marker}' within {timeout.TotalSeconds:0} s: {Describe()}");
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }
        Command.DrainOutput(_process, TimeSpan.FromSeconds(2));
        return true;
    }

    /// <summary>Asks the process to stop with SIGTERM (SIGINT when <paramref name="interrupt"/>).</summary>
    public void Signal(bool interrupt = false)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, interrupt ? SignalInterrupt : SignalTerminate);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                Signal();
                if (!_process.WaitForExit(TerminateGrace))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(TerminateGrace);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    private void Append(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Append(stream).Append(": ").AppendLine(line);
            if (_output.Length > MaxBufferedChars)
            {
                _output.Remove(0, _output.Length - (MaxBufferedChars / 2));
            }
        }
    }

    private const int SignalInterrupt = 2;
    private const int SignalTerminate = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
