using JumpingVpn.Control.KillSwitch;
using JumpingVpn.Platform;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Manager;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Ui.KillSwitch;

/// <summary>
/// The "block untunneled traffic" toggle (docs/platform.md §4.8): `GET /api/killswitch/{tunnel}` reads the state,
/// `POST /api/killswitch/{tunnel}` with `{"on": true|false}` (and, with on, `"allowLan": true|false`) changes it,
/// through the same
/// <see cref="IKillSwitchControl"/> as `jvpn killswitch`. A request that cannot be done (split tunnel, tunnel not
/// running) answers 409 with the message the CLI would print.
/// </summary>
public sealed class KillSwitchModule(IKillSwitchControl control) : IUiModule
{
    public string Name => "killswitch";

    public void Map(IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        routes.MapGet("/api/killswitch/{tunnel}", (string tunnel) => Answer(tunnel, () => control.Status(tunnel)));
        routes.MapPost("/api/killswitch/{tunnel}", (string tunnel, KillSwitchRequest? request) =>
            request?.On is not bool on
                ? Results.BadRequest(new KillSwitchError("the body must be {\"on\": true} or {\"on\": false}, with \"allowLan\": true or false next to \"on\": true"))
                : !on && request.AllowLan is not null
                    ? Results.BadRequest(new KillSwitchError("\"allowLan\" goes with \"on\": true (the LAN setting applies while the kill switch is on)"))
                    : Answer(tunnel, () => control.Set(tunnel, on, request.AllowLan)));
    }

    internal static IResult Answer(string tunnel, Func<KillSwitchState> action)
    {
        if (TunnelNames.Problem(tunnel) is string problem)
        {
            return Results.BadRequest(new KillSwitchError(problem));
        }
        try
        {
            KillSwitchState s = action();
            return Results.Ok(new KillSwitchView(s.Tunnel, s.Running, s.Enabled, s.Lockdown, s.FullTunnel, s.Refused, s.AllowLan, s.Lan, s.Describe()));
        }
        catch (KillSwitchException ex)
        {
            return Results.Conflict(new KillSwitchError(ex.Message));
        }
        catch (PlatformException ex)
        {
            return Results.Json(new KillSwitchError(ex.Message), statusCode: StatusCodes.Status500InternalServerError);
        }
    }
}

/// <summary>The toggle's request body; <c>AllowLan</c> null keeps the tunnel's LAN setting.</summary>
public sealed record KillSwitchRequest(bool? On, bool? AllowLan = null);

/// <summary>The state as the page shows it; <c>lan</c> lists the LAN subnets let through, <c>text</c> is the sentence
/// `jvpn killswitch NAME status` prints.</summary>
public sealed record KillSwitchView(string Tunnel, bool Running, bool Enabled, bool Lockdown, bool? FullTunnel, long? Refused, bool AllowLan, string Lan, string Text);

/// <summary>Why a request was refused, for the page to show as it is.</summary>
public sealed record KillSwitchError(string Error);
