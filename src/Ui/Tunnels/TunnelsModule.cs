using System.Text;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Manager;
using JumpingVpn.Ui.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Ui.Tunnels;

/// <summary>
/// The tunnels page's endpoints (docs/ui.md "Tunnels page"): list with state, import, create with server-generated
/// keys, the public key of a private key, edit with the real parsers' errors, delete, export, activate, deactivate,
/// start at boot. Every change goes through <see cref="TunnelManager"/>, which checks names and configs.
/// </summary>
public sealed class TunnelsModule(TunnelManager manager) : IUiModule
{
    /// <summary>Largest config accepted from the page; a real one is a few hundred bytes.</summary>
    public const int MaxConfigChars = 256 * 1024;

    public string Name => "tunnels";

    public void Map(IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        routes.MapGet("/api/tunnels/list", () => Results.Json(new TunnelList([.. manager.Tunnels().Select(View)])));
        routes.MapGet("/api/tunnels/config", (string? name) => Guard(() => Results.Json(new ConfigText(name!, manager.ReadConfig(name!)))));
        routes.MapGet("/api/tunnels/export", (string? name) => Guard(() =>
            Results.File(Encoding.UTF8.GetBytes(manager.ReadConfig(name!)), "text/plain; charset=utf-8", name + ".conf")));
        routes.MapPost("/api/tunnels/check", (ConfigText body) => Results.Json(Check(body)));
        routes.MapPost("/api/tunnels/publickey", (PrivateKeyText body) =>
            WireGuardKey.TryParseBase64(body.PrivateKey?.Trim() ?? "", out byte[]? key)
                ? Results.Json(new PublicKeyText(PublicKeyOf(key)))
                : Refuse("not a private key: expected 44 characters of base64 as `jvpn genkey` prints", null));
        routes.MapPost("/api/tunnels/new", () => Results.Json(NewConfig()));
        routes.MapPost("/api/tunnels/save", (SaveRequest body) => Guard(() =>
        {
            if (body.Text is null || body.Text.Length > MaxConfigChars)
            {
                return Refuse("the config is missing or larger than 256 KiB", null);
            }
            manager.Save(body.Name ?? "", body.Text, body.Create);
            return Results.NoContent();
        }));
        routes.MapPost("/api/tunnels/import", (ImportRequest body) => Results.Json(new ImportResult([.. (body.Files ?? []).Select(Import)])));
        routes.MapPost("/api/tunnels/activate", (NameRequest body) => Guard(() =>
        {
            manager.Activate(body.Name ?? "");
            return Results.NoContent();
        }));
        routes.MapPost("/api/tunnels/deactivate", async (NameRequest body) =>
        {
            await manager.DeactivateAsync(body.Name ?? "");
            return Results.NoContent();
        });
        routes.MapPost("/api/tunnels/startatboot", (StartAtBootRequest body) => Guard(() =>
        {
            manager.SetStartAtBoot(body.Name ?? "", body.On);
            return Results.NoContent();
        }));
        routes.MapPost("/api/tunnels/delete", (NameRequest body) => Guard(() =>
        {
            manager.Delete(body.Name ?? "");
            return Results.NoContent();
        }));
    }

    private static TunnelView View(ManagedTunnel t) =>
        new(t.Name, t.InterfaceName, t.State.ToString().ToLowerInvariant(), t.IsServer, t.StartAtBoot, t.Problem);

    private static CheckResult Check(ConfigText body)
    {
        if (body.Text is null || body.Text.Length > MaxConfigChars)
        {
            return new CheckResult(false, new ConfigProblem(null, null, "the config is missing or larger than 256 KiB"));
        }
        return ConfigCheck.Check(body.Name ?? "", body.Text, out ConfigProblem? problem) is null
            ? new CheckResult(false, problem)
            : new CheckResult(true, null);
    }

    private ImportItem Import(ImportFile file)
    {
        string name = TunnelNames.FromFileName(file.FileName ?? "");
        try
        {
            if (file.Text is null || file.Text.Length > MaxConfigChars)
            {
                return new ImportItem(name, false, "the file is empty or larger than 256 KiB", null, null);
            }
            manager.Save(name, file.Text, create: true);
            return new ImportItem(name, true, null, null, null);
        }
        catch (ManagerException e)
        {
            return new ImportItem(name, false, e.Message, e.Problem?.Line, e.Problem?.Key);
        }
    }

    private static NewConfigText NewConfig()
    {
        byte[] key = new byte[32];
        X25519.GeneratePrivateKey(key);
        string text = "[Interface]\nPrivateKey = " + WireGuardKey.ToBase64(key) + "\nAddress = 10.0.0.2/24\n\n" +
            "[Peer]\n# The server's public key and address:port, from its operator.\nPublicKey = \nEndpoint = \nAllowedIPs = 0.0.0.0/0, ::/0\n";
        return new NewConfigText(text, PublicKeyOf(key));
    }

    private static string PublicKeyOf(byte[] privateKey)
    {
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(privateKey, pub);
        return WireGuardKey.ToBase64(pub);
    }

    private static IResult Guard(Func<IResult> action)
    {
        try
        {
            return action();
        }
        catch (ManagerException e)
        {
            return Refuse(e.Message, e.Problem);
        }
        catch (ArgumentException e)
        {
            return Refuse(e.Message, null);
        }
        catch (IOException e)
        {
            return Results.Json(new UiError(e.Message), statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    private static IResult Refuse(string message, ConfigProblem? problem) =>
        Results.Json(new RefusedChange(message, problem), statusCode: StatusCodes.Status400BadRequest);

    private sealed record TunnelList(IReadOnlyList<TunnelView> Tunnels);

    private sealed record TunnelView(string Name, string InterfaceName, string State, bool IsServer, bool StartAtBoot, string? Problem);

    private sealed record ConfigText(string? Name, string? Text);

    private sealed record PrivateKeyText(string? PrivateKey);

    private sealed record PublicKeyText(string PublicKey);

    private sealed record NewConfigText(string Text, string PublicKey);

    private sealed record CheckResult(bool Ok, ConfigProblem? Problem);

    private sealed record SaveRequest(string? Name, string? Text, bool Create);

    private sealed record NameRequest(string? Name);

    private sealed record StartAtBootRequest(string? Name, bool On);

    private sealed record ImportFile(string? FileName, string? Text);

    private sealed record ImportRequest(IReadOnlyList<ImportFile>? Files);

    private sealed record ImportItem(string Name, bool Ok, string? Error, int? Line, string? Key);

    private sealed record ImportResult(IReadOnlyList<ImportItem> Results);

    private sealed record RefusedChange(string Error, ConfigProblem? Problem);
}
