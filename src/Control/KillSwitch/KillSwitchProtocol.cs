using System.Globalization;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Platform;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Control.KillSwitch;

/// <summary>
/// The control-socket operation behind `jvpn killswitch` and the UI toggle (docs/platform.md §4.8):
/// `jvpn_killswitch=status|on|on_allow_lan|on_block_lan|off` (`on` keeps the allow-LAN setting, the other two set it),
/// answered with `killswitch=on|off`, `full_tunnel=true|false`, `allow_lan=true|false`, one `lan=PREFIX IFACE` per
/// LAN subnet let through, `refused=N` (when counted), or `message=...` with errno -22 when the request cannot be done.
/// </summary>
public static class KillSwitchProtocol
{
    public const string Operation = "jvpn_killswitch";

    /// <summary>The request line for <paramref name="on"/> (null: status); <paramref name="allowLan"/> sets allow-LAN
    /// with <c>on</c> (null keeps it).</summary>
    public static string Request(bool? on, bool? allowLan = null)
    {
        string verb = on switch
        {
            null => "status",
            false => "off",
            true => allowLan switch { null => "on", true => "on_allow_lan", false => "on_block_lan" },
        };
        return $"{Operation}={verb}\n\n";
    }

    /// <summary>The daemon's answer to <paramref name="firstLine"/>, or null when it is not this operation.
    /// <paramref name="killSwitch"/> is null where the OS has no kill switch.</summary>
    public static string? Handle(string firstLine, TunnelKillSwitch? killSwitch)
    {
        ArgumentNullException.ThrowIfNull(firstLine);
        if (!firstLine.StartsWith(Operation + "=", StringComparison.Ordinal))
        {
            return null;
        }
        string verb = firstLine[(Operation.Length + 1)..];
        if (killSwitch is null)
        {
            return Error("this system has no kill switch (jvpn has one on Linux with nftables and on Windows with WFP)");
        }
        try
        {
            switch (verb)
            {
                case "on":
                    killSwitch.Enable();
                    break;
                case "on_allow_lan":
                    killSwitch.Enable(allowLan: true);
                    break;
                case "on_block_lan":
                    killSwitch.Enable(allowLan: false);
                    break;
                case "off":
                    if (killSwitch.Enabled)
                    {
                        killSwitch.Disable();
                    }
                    break;
                case "status":
                    break;
                default:
                    return Error($"'{verb}' is not on, on_allow_lan, on_block_lan, off or status");
            }
        }
        catch (Exception ex) when (ex is KillSwitchException or PlatformException)
        {
            return Error(ex.Message);
        }
        string payload = $"killswitch={(killSwitch.Enabled ? "on" : "off")}\nfull_tunnel={(killSwitch.FullTunnel ? "true" : "false")}\nallow_lan={(killSwitch.AllowLan ? "true" : "false")}\n";
        foreach (LanSubnet lan in killSwitch.Lan)
        {
            payload += $"lan={lan.Prefix} {lan.Interface}\n";
        }
        if (killSwitch.Refused is long refused)
        {
            payload += $"refused={refused.ToString(CultureInfo.InvariantCulture)}\n";
        }
        return UapiProtocol.FormatResponse(payload, UapiErrno.None);
    }

    /// <summary>Reads a daemon's answer; a refusal becomes a <see cref="KillSwitchException"/> with its message.</summary>
    public static KillSwitchState Parse(string tunnel, string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        bool enabled = false;
        bool fullTunnel = false;
        bool allowLan = false;
        var lan = new List<string>();
        long? refused = null;
        string? message = null;
        int errno = 0;
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }
            string key = line[..eq];
            string value = line[(eq + 1)..];
            switch (key)
            {
                case "killswitch":
                    enabled = value == "on";
                    break;
                case "full_tunnel":
                    fullTunnel = value == "true";
                    break;
                case "allow_lan":
                    allowLan = value == "true";
                    break;
                case "lan" when value.Split(' ') is [string prefix, string iface]:
                    lan.Add($"{prefix} on {iface}");
                    break;
                case "refused":
                    refused = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
                    break;
                case "message":
                    message = value;
                    break;
                case "errno":
                    _ = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out errno);
                    break;
                default:
                    break;
            }
        }
        if (errno != 0)
        {
            // An interface served by another WireGuard implementation answers an unknown operation this way too.
            throw new KillSwitchException(message ?? $"{tunnel} does not understand the kill switch request (errno {errno}): it is not a jvpn interface");
        }
        return new KillSwitchState(tunnel, Running: true, enabled, fullTunnel, refused) { AllowLan = allowLan, Lan = string.Join(", ", lan) };
    }

    private static string Error(string message) =>
        UapiProtocol.FormatResponse("message=" + message.Replace('\n', ' ') + "\n", UapiErrno.Invalid);
}
