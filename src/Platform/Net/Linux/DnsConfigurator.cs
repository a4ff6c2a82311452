using System.Net;

namespace JumpingVpn.Platform.Net.Linux;

/// <summary>
/// Tunnel DNS on Linux, in the order a desktop needs: systemd-resolved per link (`resolvectl dns/domain`,
/// reverted with `resolvectl revert`) when resolved is running, else resolvconf (`resolvconf -a tun.IF`,
/// removed with `-d`), as wg-quick does. With a full tunnel the link also gets the routing domain `~.` so
/// every query goes through the tunnel (no DNS leak). The plan is pure (<see cref="Plan"/>), so it is
/// tested without either tool.
/// </summary>
public sealed class DnsConfigurator
{
    public enum Backend
    {
        None,
        Resolved,
        Resolvconf,
    }

    /// <summary>One command to run: file, arguments and optional stdin.</summary>
    public sealed record Step(string File, IReadOnlyList<string> Arguments, string? Stdin = null)
    {
        public override string ToString() => $"{File} {string.Join(' ', Arguments)}";
    }

    /// <summary>What to run to apply, and what to run to undo.</summary>
    public sealed record DnsPlan(Backend Backend, IReadOnlyList<Step> Apply, IReadOnlyList<Step> Revert);

    /// <summary>resolved is in use when its runtime directory exists and resolvectl is installed.</summary>
    public static Backend Detect(Func<string, string?> findOnPath, Func<string, bool> directoryExists)
    {
        if (findOnPath("resolvectl") is not null && directoryExists("/run/systemd/resolve"))
        {
            return Backend.Resolved;
        }
        return findOnPath("resolvconf") is not null ? Backend.Resolvconf : Backend.None;
    }

    public static DnsPlan Plan(Backend backend, string device, IReadOnlyList<IPAddress> servers, IReadOnlyList<string> search, bool fullTunnel)
    {
        if (servers.Count == 0 && search.Count == 0)
        {
            return new DnsPlan(Backend.None, [], []);
        }
        switch (backend)
        {
            case Backend.Resolved:
            {
                var apply = new List<Step>();
                if (servers.Count > 0)
                {
                    apply.Add(new Step("resolvectl", ["dns", device, .. servers.Select(s => s.ToString())]));
                }
                var domains = new List<string>(search);
                if (fullTunnel)
                {
                    domains.Add("~.");
                }
                if (domains.Count > 0)
                {
                    apply.Add(new Step("resolvectl", ["domain", device, .. domains]));
                }
                if (fullTunnel)
                {
                    apply.Add(new Step("resolvectl", ["default-route", device, "true"]));
                }
                return new DnsPlan(Backend.Resolved, apply, [new Step("resolvectl", ["revert", device])]);
            }
            case Backend.Resolvconf:
            {
                var conf = new System.Text.StringBuilder();
                foreach (IPAddress s in servers)
                {
                    conf.Append("nameserver ").Append(s).Append('\n');
                }
                if (search.Count > 0)
                {
                    conf.Append("search ").Append(string.Join(' ', search)).Append('\n');
                }
                return new DnsPlan(Backend.Resolvconf,
                    [new Step("resolvconf", ["-a", "tun." + device, "-m", "0", "-x"], conf.ToString())],
                    [new Step("resolvconf", ["-d", "tun." + device, "-f"])]);
            }
            default:
                return new DnsPlan(Backend.None, [], []);
        }
    }

    /// <summary>Runs the steps; a failure throws a PlatformException naming the command and its message.</summary>
    public static void Run(IEnumerable<Step> steps)
    {
        foreach (Step step in steps)
        {
            ExternalCommand.Result r = ExternalCommand.Run(step.File, step.Arguments, step.Stdin);
            if (!r.Ok)
            {
                throw new PlatformException($"'{step}' failed: {r.Error}");
            }
        }
    }
}
