using System.Diagnostics;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// Runs iproute2's `ip` (the issue allows shelling out for now; netlink comes with the interface
/// monitor). Arguments go through ArgumentList, never a shell. A failure becomes a PlatformException
/// quoting the command and ip's own message.
/// </summary>
public static class IpCommand
{
    public static string Run(params string[] args) => Run(true, args).Output;

    /// <summary>Runs ip; returns (ok, stdout, stderr). With <paramref name="throwOnError"/> a failure throws.</summary>
    public static (bool Ok, string Output, string Error) Run(bool throwOnError, params string[] args)
    {
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Stable English messages whatever the user's locale, so errors can be recognised and quoted.
        psi.Environment["LC_ALL"] = "C";
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new PlatformException("cannot start 'ip'");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new PlatformException($"cannot run 'ip' ({ex.Message}); install iproute2");
        }
        using (p)
        {
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            if (!p.WaitForExit(30_000))
            {
                p.Kill();
                throw new PlatformException($"'ip {string.Join(' ', args)}' did not finish within 30 s");
            }
            bool ok = p.ExitCode == 0;
            if (!ok && throwOnError)
            {
                throw new PlatformException($"'ip {string.Join(' ', args)}' failed: {stderr.Trim()}");
            }
            return (ok, stdout, stderr.Trim());
        }
    }
}
