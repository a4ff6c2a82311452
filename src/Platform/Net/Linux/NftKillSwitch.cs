using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// The Linux kill switch (docs/platform.md §4.8): <see cref="NftKillSwitchScript"/> fed to `nft -f -`, one
/// transaction per install or removal. The table is the kernel's, not the process's, so it outlives a crashed
/// jvpn (lockdown) until `jvpn down NAME` or `jvpn killswitch NAME off` removes it.
/// </summary>
public sealed class NftKillSwitch : IKillSwitch
{
    public void Install(KillSwitchRules rules) => Run(NftKillSwitchScript.Install(rules), "install the kill switch");

    public bool Remove(string tunnelInterface)
    {
        bool present = IsInstalled(tunnelInterface);
        Run(NftKillSwitchScript.Remove(tunnelInterface), "remove the kill switch");
        return present;
    }

    public bool IsInstalled(string tunnelInterface) => List(tunnelInterface) is not null;

    /// <summary>The packets the table refused so far (the reject counters), or null when it is not installed.</summary>
    public long? Refused(string tunnelInterface) => List(tunnelInterface) is { } listing ? NftCounters.SumPackets(listing) : null;

    /// <summary>The table's listing, or null when there is none. Any other failure (no privilege to read the ruleset)
    /// is an error: "off" would be a false answer.</summary>
    private static string? List(string tunnelInterface)
    {
        ExternalCommand.Result r = Nft(["list", "table", "inet", NftKillSwitchScript.TableName(tunnelInterface)], null);
        if (r.Ok)
        {
            return r.Output;
        }
        if (r.Error.Contains("No such file or directory", StringComparison.Ordinal))
        {
            return null;
        }
        throw new PlatformException($"cannot read the kill switch's nftables table: {FirstLine(r.Error)} (run as root or with CAP_NET_ADMIN)");
    }

    private static string FirstLine(string text)
    {
        int nl = text.IndexOf('\n', StringComparison.Ordinal);
        return nl < 0 ? text : text[..nl];
    }

    private static void Run(string script, string what)
    {
        ExternalCommand.Result r = Nft(["-f", "-"], script);
        if (!r.Ok)
        {
            throw new PlatformException($"cannot {what}: nft said: {FirstLine(r.Error)}");
        }
    }

    private static ExternalCommand.Result Nft(string[] arguments, string? stdin)
    {
        try
        {
            return ExternalCommand.Run("nft", arguments, stdin, environment: new Dictionary<string, string> { ["LC_ALL"] = "C" });
        }
        catch (PlatformException ex) when (ex.Message.StartsWith("cannot", StringComparison.Ordinal))
        {
            throw new PlatformException($"{ex.Message}; the kill switch needs nftables (install the nftables package)");
        }
    }
}
