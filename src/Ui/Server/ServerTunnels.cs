using JumpingVpn.Ui.Hosting;
using Microsoft.AspNetCore.Http;

namespace JumpingVpn.Ui.Server;

/// <summary>The tunnels server mode applies to: the directory's tunnels that are servers (<see cref="TunnelEntry.IsServer"/>).</summary>
internal sealed class ServerTunnels(ITunnelDirectory directory)
{
    /// <summary>Longest tunnel name looked up; config names are interface names (15 bytes on Linux), this leaves room.</summary>
    private const int MaxNameLength = 64;

    internal sealed record ServerTunnelItem(string Name, string InterfaceName, string State);

    public IResult List()
    {
        var items = new List<ServerTunnelItem>();
        foreach (TunnelEntry t in directory.List())
        {
            if (t.IsServer)
            {
                items.Add(new ServerTunnelItem(t.Name, t.InterfaceName, t.State.ToString().ToLowerInvariant()));
            }
        }
        return Results.Json(items);
    }

    /// <summary>The server tunnel named <paramref name="name"/>, or the refusal to send instead.</summary>
    public TunnelEntry? Find(string? name, out IResult? refusal)
    {
        refusal = null;
        if (string.IsNullOrEmpty(name))
        {
            refusal = ServerModule.Refuse(StatusCodes.Status400BadRequest, "name the server tunnel: ?tunnel=NAME (the tunnels list shows the names)");
            return null;
        }
        if (name.Length > MaxNameLength || name.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0)
        {
            refusal = ServerModule.Refuse(StatusCodes.Status400BadRequest, "that is not a tunnel name: at most 64 printable characters");
            return null;
        }
        foreach (TunnelEntry t in directory.List())
        {
            if (string.Equals(t.Name, name, StringComparison.Ordinal))
            {
                if (!t.IsServer)
                {
                    refusal = ServerModule.Refuse(StatusCodes.Status400BadRequest,
                        $"tunnel {t.Name} is a client (its peers have endpoints); server mode needs a server config (jvpn server init)");
                    return null;
                }
                return t;
            }
        }
        refusal = ServerModule.Refuse(StatusCodes.Status404NotFound, $"no tunnel named {name}; import or create it on the Tunnels page first");
        return null;
    }
}
