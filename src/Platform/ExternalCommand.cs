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
            // The timeout covers the whole run, output included: both pipes are read concurrently (a child
            // that fills one pipe while we wait on the other would hang), and neither read is awaited past
            // the deadline, because a process the command started in the background can hold them open
            // long after the command itself exited.
            var deadline = Stopwatch.StartNew();
            TimeSpan limit = timeout ?? TimeSpan.FromSeconds(30);
            Capture output = captureOutput ? Capture.Start(p.StandardOutput) : Capture.None();
            Capture error = captureOutput ? Capture.Start(p.StandardError) : Capture.None();
            if (stdin is not null)
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
            if (!p.WaitForExit(Remaining(limit, deadline)))
            {
                p.Kill(entireProcessTree: true);
                throw new PlatformException($"'{file} {string.Join(' ', psi.ArgumentList)}' did not finish within {limit.TotalSeconds:0} s");
            }
            // Everything the command itself wrote is in the pipes once it exited; only a leftover background
            // process can keep them open, so its output is not waited for beyond a short grace.
            TimeSpan grace = Remaining(limit, deadline) < OutputGrace ? Remaining(limit, deadline) : OutputGrace;
            _ = WaitHandle.WaitAll([output.Closed, error.Closed], grace);
            return new Result(p.ExitCode, output.Text(), error.Text().Trim());
        }
    }

    /// <summary>How long output is still read after the command exited (a background child may hold the pipes).</summary>
    private static readonly TimeSpan OutputGrace = TimeSpan.FromMilliseconds(500);

    private static TimeSpan Remaining(TimeSpan limit, Stopwatch elapsed) =>
        limit > elapsed.Elapsed ? limit - elapsed.Elapsed : TimeSpan.Zero;

    /// <summary>
    /// One pipe read to its end on its own thread (not the thread pool, which a busy process may not
    /// schedule in time), readable at any moment, also while a leftover child keeps the pipe open.
    /// </summary>
    private sealed class Capture
    {
        private readonly System.Text.StringBuilder _text = new();

        public ManualResetEvent Closed { get; } = new(false);

        public static Capture None()
        {
            var c = new Capture();
            c.Closed.Set();
            return c;
        }

        public static Capture Start(StreamReader reader)
        {
            var c = new Capture();
            new Thread(() => c.Pump(reader)) { IsBackground = true, Name = "jvpn-command-output" }.Start();
            return c;
        }

        private void Pump(StreamReader reader)
        {
            char[] buffer = new char[4096];
            try
            {
                int n;
                while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
                {
                    lock (_text)
                    {
                        _text.Append(buffer, 0, n);
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The process object was disposed while a leftover child still held the pipe.
            }
            Closed.Set();
        }

        public string Text()
        {
            lock (_text)
            {
                return _text.ToString();
            }
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
