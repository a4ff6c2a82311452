using System.Net;

namespace JumpingVpn.Platform.Net;

/// <summary>An interface that can reach the server: its name, the local address it would send from, the
/// metric of its best route toward the server (lower is preferred by the OS too), and its interface index
/// (what Windows' IP_UNICAST_IF takes; 0 where the platform binds by name).</summary>
public readonly record struct UsableInterface(string Name, IPAddress LocalAddress, int Metric, uint Index = 0);
