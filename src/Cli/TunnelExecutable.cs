using System.Runtime.InteropServices;

namespace JumpingVpn.Cli;

/// <summary>
/// `jvpn up` hands its process over to jvpn-tunnel, the natively compiled (NativeAOT) executable that holds only
/// the `up` command, when it sits beside jvpn (the Linux x64 package installs both). An idle client then carries
/// no JIT, no JIT-compiled code and no UI host: docs/performance.md "Idle client memory and start-up" has the
/// measurements. execv keeps the process id, the arguments, the environment and the standard streams, so a
/// service manager, `jvpn down` and the exit codes see the same process either way. Where jvpn-tunnel is absent
/// (a source build, arm64, Windows) or JVPN_TUNNEL_EXEC=0, `jvpn up` runs in this process.
/// </summary>
internal static partial class TunnelExecutable
{
    public const string FileName = "jvpn-tunnel";

    /// <summary>Returns only if there is no jvpn-tunnel to run; otherwise the process image is replaced.</summary>
    public static void ExecIfPresent(string[] args)
    {
        if (args.Length == 0 || args[0] != "up" || Environment.GetEnvironmentVariable("JVPN_TUNNEL_EXEC") == "0")
        {
            return;
        }
        // Only Linux packages ship the file (no ".exe": a Windows install never has it), so its presence is
        // the whole test and no OS check is needed here (docs/platform.md §8).
        string path = Path.Combine(AppContext.BaseDirectory, FileName);
        if (!File.Exists(path))
        {
            return;
        }
        Exec(path, args);
        // Only a failed execv returns; the in-process `up` is the same command, so it still starts.
        Console.Error.WriteLine($"Warning: could not run {path} (errno {Marshal.GetLastPInvokeError()}); running the tunnel in this process");
    }

    private static unsafe void Exec(string path, string[] args)
    {
        var argv = new nint[args.Length + 2];
        try
        {
            argv[0] = Marshal.StringToCoTaskMemUTF8(path);
            for (int i = 0; i < args.Length; i++)
            {
                argv[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }
            fixed (nint* p = argv)
            {
                _ = ExecV(path, p);
            }
        }
        finally
        {
            foreach (nint s in argv)
            {
                Marshal.FreeCoTaskMem(s);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int ExecV(string path, nint* argv);
}
