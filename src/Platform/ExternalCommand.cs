using System.ComponentModel;
using System.Diagnostics;

namespace JumpingVpn.Platform;

/// <summary>
/// Runs an external program the way every caller here needs it: arguments through ArgumentList (never a
/// shell), optional stdin, output captured (or left on the console, for user hooks), a timeout that kills
/// the process tree, and a PlatformException naming the program when it cannot be started at all.
/// One place for `ip`, resolvectl/resolvconf, wg-quick hooks and qrencode.
/// </summary>
public static class ExternalCommand
{
    /// <summary>Exit code and captured output (empty strings when output was not captured).</summary>
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public bool Ok => ExitCode == 0;
    }

    public static Result Run(string file, IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null,
        bool captureOutput = true, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = captureOutput,
            RedirectStandardError = captureOutput,
        };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        if (environment is not null)
        {
            foreach ((string key, string value) in environment)
            {
                psi.Environment[key] = value;
            }
        }
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new PlatformException($"cannot start '{file}'");
        }
        catch (Win32Exception ex)
        {
            throw new PlatformException($"cannot run '{file}' ({ex.Message})");
        }
        using (p)
        {
            // Read stderr concurrently: a child that fills one pipe while we wait on the other would hang.
            Task<string> error = captureOutput ? p.StandardError.ReadToEndAsync() : Task.FromResult(string.Empty);
            if (stdin is not null)
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
            string output = captureOutput ? p.StandardOutput.ReadToEnd() : string.Empty;
            TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
            if (!p.WaitForExit(limit))
            {
                p.Kill(entireProcessTree: true);
                throw new PlatformException($"'{file} {string.Join(' ', psi.ArgumentList)}' did not finish within {limit.TotalSeconds:0} s");
            }
            return new Result(p.ExitCode, output, error.GetAwaiter().GetResult().Trim());
        }
    }

    /// <summary>The full path of <paramref name="name"/> in PATH (or the usual system directories), or null.</summary>
    public static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }
}
