using Microsoft.AspNetCore.Routing;

namespace JumpingVpn.Ui.Hosting;

/// <summary>
/// One part of the local UI (tunnels, tunnel detail, events, server): its JSON endpoints, all under
/// <c>/api/{Name}/</c>, and its pages, embedded under <c>wwwroot/</c>. Every endpoint a module maps sits behind
/// the same guard (docs/ui.md "Security"): the module never checks Host, cookie or Origin itself.
/// </summary>
public interface IUiModule
{
    /// <summary>The path segment under <c>/api/</c>; lower case, no slashes.</summary>
    string Name { get; }

    /// <summary>Maps the module's endpoints; each route starts with <c>/api/{Name}/</c>.</summary>
    void Map(IEndpointRouteBuilder routes);
}
