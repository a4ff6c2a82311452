using System.Diagnostics;
using System.Text;

namespace JumpingVpn.Tests.Infrastructure;

internal sealed record CommandResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs a short-lived command to completion. Arguments always go through
/// <see cref="ProcessStartInfo.ArgumentList"/> (no shell, no quoting bugs); every run has a timeout
/// after which the process tree is killed.</summary>
internal static class Command
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Runs and throws (with the command line and stderr) unless the exit code is 0.</summary>
    public static CommandResult Run(string file, IEnumerable<string> arguments, TimeSpan? timeout = null, string? standardInput = null)
    {
        CommandResult result = TryRun(file, arguments, timeout, standardInput);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"command failed with exit code {result.ExitCode}: {result.CommandLine}\nstderr: {result.StandardError.Trim()}\nstdout: {Truncate(result.StandardOutput)}");
        }
        return result;
    }

    /// <summary>Runs and returns the result whatever the exit code; throws only on timeout or start failure.</summary>
    public static CommandResult TryRun(string file, IEnumerable<string> arguments, TimeSpan? timeout = null, string? standardInput = null)
    {
        var startInfo = new ProcessStartInfo(Binaries.Find(file))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        string commandLine = Format(startInfo);
        using var process = new Process { StartInfo = startInfo };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start: {commandLine}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }
        TimeSpan limit = timeout ?? DefaultTimeout;
        if (!process.WaitForExit(limit))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited between the timeout and the kill.
            }
            process.WaitForExit(TimeSpan.FromSeconds(5));
            throw new TimeoutException($"command timed out after {limit.TotalSeconds:0.#} s: {commandLine}\nstderr: {stderr.ToString().Trim()}");
        }
        // A command's output is what the caller checks, and the output callbacks run on the test host's
        // thread pool, which a full suite on two cores can keep busy for seconds (a `jvpn cluster status`
        // that exited 0 once came back with no output under a 2 s bound in a CI run): wait longer here.
        DrainOutput(process, TimeSpan.FromSeconds(10));
        return new CommandResult(commandLine, process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>After exit, waits for the redirected streams to reach EOF so no output is
    /// lost. Bounded: a background child that inherited the pipes (a daemon, wireguard-go) would
    /// otherwise keep them open and hang the parameterless WaitForExit forever.</summary>
    internal static void DrainOutput(Process process, TimeSpan bound)
    {
        using var drained = new CancellationTokenSource(bound);
        try
        {
            process.WaitForExitAsync(drained.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            // Pipes still held open by a descendant; what was read so far is enough.
        }
    }

    internal static string Format(ProcessStartInfo startInfo)
    {
        var builder = new StringBuilder(startInfo.FileName);
        foreach (string argument in startInfo.ArgumentList)
        {
            builder.Append(' ');
            builder.Append(argument.Length == 0 || argument.Contains(' ', StringComparison.Ordinal) ? $"'{argument}'" : argument);
        }
        return builder.ToString();
    }

    private static string Truncate(string text) => text.Length <= 2000 ? text.Trim() : string.Concat(text.AsSpan(0, 2000), "…");
}
