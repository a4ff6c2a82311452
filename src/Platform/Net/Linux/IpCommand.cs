
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
        ExternalCommand.Result r;
        try
        {
            // Stable English messages whatever the user's locale, so errors can be recognised and quoted.
            r = ExternalCommand.Run("ip", args, environment: new Dictionary<string, string> { ["LC_ALL"] = "C" });
        }
        catch (PlatformException ex) when (ex.Message.StartsWith("cannot", StringComparison.Ordinal))
        {
            throw new PlatformException($"{ex.Message}; install iproute2");
        }
        if (!r.Ok && throwOnError)
        {
            throw new PlatformException($"'ip {string.Join(' ', args)}' failed: {r.Error}");
        }
        return (r.Ok, r.Output, r.Error);
    }
}
