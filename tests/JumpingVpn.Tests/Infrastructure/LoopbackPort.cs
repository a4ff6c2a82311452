using System.Net;
using System.Net.Sockets;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>Ports for store servers the tests start on loopback.</summary>
internal static class LoopbackPort
{
    /// <summary>A TCP port the kernel just handed out and released, so a server started next can bind it.</summary>
    public static int Free() => Distinct(1)[0];

    /// <summary>
    /// <paramref name="count"/> different free ports. All listeners stay open until every port is chosen:
    /// a port released and asked for again is often handed out again, and two etcd members given the same
    /// peer port refuse to start ("duplicate url").
    /// </summary>
    public static int[] Distinct(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            var ports = new int[count];
            for (int i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
                ports[i] = ((IPEndPoint)listeners[i].LocalEndpoint).Port;
            }
            return ports;
        }
        finally
        {
            foreach (TcpListener? l in listeners)
            {
                l?.Dispose();
            }
        }
    }
}
