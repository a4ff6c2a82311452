using System.Diagnostics;
using System.Globalization;
using JumpingVpn.Control.Hosting;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform;
using JumpingVpn.Ui.Hosting;

namespace JumpingVpn.Ui.Manager;

/// <summary>
/// One tunnel's <c>jvpn up CONFIG</c> child process (docs/ui.md "The manager"): a crash of one tunnel takes no other
/// tunnel and not the manager with it. Its stdout and stderr go to the tunnel's log ring. Stop sends SIGTERM (on
/// Windows the control endpoint's down request), which makes <c>jvpn up</c> tear down routes and addresses, and
/// kills the process if it has not exited within the stop timeout.
/// </summary>
internal sealed class TunnelChild : IDisposable
{
    private readonly Process _process;
    private readonly string _interfaceName;
    private readonly LogRing _log;
    private readonly TimeProvider _time;

    private TunnelChild(Process process, string interfaceName, LogRing log, TimeProvider time)
    {
        _process = process;
        _interfaceName = interfaceName;
        _log = log;
        _time = time;
    }

    public int Pid => _process.Id;

    /// <summary>Set once a stop was asked for: the exit that follows is not a failure.</summary>
    public bool StopRequested { get; private set; }

    /// <summary>Starts <c>jvpn up CONFIG</c>; <paramref name="exited"/> runs once with the exit code.</summary>
    public static TunnelChild Start(ChildCommand command, string configPath, string interfaceName, LogRing log, TimeProvider time, Action<TunnelChild, int> exited)
    {
        var info = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in command.LeadingArguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.ArgumentList.Add("up");
        info.ArgumentList.Add(configPath);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new TunnelChild(process, interfaceName, log, time);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Exited += (_, _) =>
        {
            // Drain the last lines before reporting, so the log shows why the process ended.
            process.WaitForExit();
            int code = process.ExitCode;
            child.Append(string.Create(CultureInfo.InvariantCulture, $"[manager] jvpn up exited with code {code}"));
            exited(child, code);
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        child.Append(string.Create(CultureInfo.InvariantCulture, $"[manager] started jvpn up {configPath} (pid {process.Id})"));
        return child;
    }

    /// <summary>Asks the process to stop and waits for it; kills it after <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        StopRequested = true;
        if (_process.HasExited)
        {
            return;
        }
        try
        {
            if (HostComposition.Current.Os == HostOs.Linux)
            {
                ProcessSignals.Terminate(_process.Id);
            }
            else
            {
                UapiClient.Request(HostComposition.Current.Uapi, _interfaceName, "jvpn_down=1\n\n");
            }
        }
        catch (Exception e) when (e is UapiException or UnauthorizedAccessException)
        {
            Append("[manager] could not ask for an orderly stop: " + e.Message);
        }
        using var bound = new CancellationTokenSource(timeout, _time);
        try
        {
            await _process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            Append(string.Create(CultureInfo.InvariantCulture, $"[manager] still running {timeout.TotalSeconds:0} s after the stop request: killing it"));
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _log.Add(new TunnelLogLine(_time.GetUtcNow(), line));
        }
    }

    public void Dispose() => _process.Dispose();
}
