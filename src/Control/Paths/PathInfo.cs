namespace JumpingVpn.Control.Paths;

/// <summary>
/// One usable way toward the server as the platform sees it (docs/design.md §4): a local interface with an
/// address and a route that covers the server. <paramref name="Priority"/>: lower is preferred (the
/// position in `[Jumping] Interfaces`, else the route metric).
/// </summary>
public readonly record struct PathInfo(string Interface, string LocalAddress, int Priority);
