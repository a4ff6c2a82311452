using JumpingVpn.Control.Config;
using JumpingVpn.Control.Hosting;

namespace JumpingVpn.Ui.Manager;

/// <summary>One problem the config parsers found: where (line, key) and what.</summary>
public sealed record ConfigProblem(int? Line, string? Key, string Message);

/// <summary>
/// Checks config text with the parsers <c>jvpn up</c> uses (TunnelConfigParser, then JumpingOptionsParser), so what
/// the editor accepts is what the tunnel will start with (docs/ui.md "Tunnels page").
/// </summary>
public static class ConfigCheck
{
    /// <summary>The parsed config, or null and the problem.</summary>
    public static TunnelConfig? Check(string name, string text, out ConfigProblem? problem)
    {
        problem = null;
        if (TunnelNames.Problem(name) is string bad)
        {
            problem = new ConfigProblem(null, null, bad);
            return null;
        }
        try
        {
            TunnelConfig config = TunnelConfigParser.Parse(text, name + ".conf", name);
            JumpingOptionsParser.Parse(config);
            return config;
        }
        catch (ConfigException e)
        {
            // The location goes into Line and Key; the page shows it at the line, so the text is the problem alone.
            problem = new ConfigProblem(e.Line, e.Key, e.Line is null && e.Key is null ? e.Message : e.Problem ?? e.Message);
            return null;
        }
    }

    /// <summary>A server listens and dials no peer; a client has at least one peer endpoint.</summary>
    public static bool IsServer(TunnelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Interface.ListenPort is null)
        {
            return false;
        }
        foreach (PeerSection peer in config.Peers)
        {
            if (peer.Endpoint is not null)
            {
                return false;
            }
        }
        return true;
    }
}
