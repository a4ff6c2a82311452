using System.Globalization;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// wg-quick(8)'s recipe for a default route through the tunnel without a routing loop: the encrypted
/// UDP socket carries fwmark T; everything without that mark looks up table T (default via the tunnel),
/// and `suppress_prefixlength 0` keeps more specific routes of the main table working. Rules are
/// removed on teardown; the routes in table T vanish with the interface.
/// </summary>
public sealed class FullTunnelRouting(string device, int table)
{
    public int Table { get; } = table;

    /// <summary>wg-quick picks the first table from 51820 up that has no routes yet.</summary>
    public static int PickTable()
    {
        for (int t = 51820; t < 51820 + 1000; t++)
        {
            string ts = t.ToString(CultureInfo.InvariantCulture);
            (bool ok4, string out4, _) = IpCommand.Run(false, "-4", "route", "show", "table", ts);
            (bool ok6, string out6, _) = IpCommand.Run(false, "-6", "route", "show", "table", ts);
            if ((!ok4 || out4.Trim().Length == 0) && (!ok6 || out6.Trim().Length == 0))
            {
                return t;
            }
        }
        throw new PlatformException("no free routing table between 51820 and 52819 for the tunnel's default route");
    }

    /// <summary>
    /// Installs the route and rules. Rules that still point at this (empty, hence unused) table are
    /// leftovers of a jvpn that was killed before it could clean up (SIGKILL, crash, power loss): the
    /// kernel deleted its device and routes but rules outlive them. They are removed first, so a
    /// crash-restart never stacks duplicates.
    /// </summary>
    public void Add(IpPrefix defaultPrefix)
    {
        string fam = defaultPrefix.IsIPv4 ? "-4" : "-6";
        string t = Table.ToString(CultureInfo.InvariantCulture);
        RemoveRules(fam);
        IpCommand.Run(fam, "route", "add", defaultPrefix.ToString(), "dev", device, "table", t);
        IpCommand.Run(fam, "rule", "add", "not", "fwmark", t, "table", t);
        IpCommand.Run(fam, "rule", "add", "table", "main", "suppress_prefixlength", "0");
        if (defaultPrefix.IsIPv4)
        {
            // Replies to marked packets must pass reverse-path filtering (wg-quick does the same).
            try
            {
                File.WriteAllText("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1");
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Removes every rule this recipe added (loops as wg-quick does, in case of duplicates).</summary>
    public void Remove()
    {
        RemoveRules("-4");
        RemoveRules("-6");
    }

    private void RemoveRules(string fam)
    {
        string t = Table.ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < 10 && IpCommand.Run(false, fam, "rule", "show").Output.Contains($"lookup {t}", StringComparison.Ordinal); i++)
        {
            IpCommand.Run(false, fam, "rule", "delete", "table", t);
        }
        for (int i = 0; i < 10 && IpCommand.Run(false, fam, "rule", "show").Output.Contains("from all lookup main suppress_prefixlength 0", StringComparison.Ordinal); i++)
        {
            IpCommand.Run(false, fam, "rule", "delete", "table", "main", "suppress_prefixlength", "0");
        }
    }
}
