using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Sends raw UDP payloads from inside a namespace without a helper binary: a dedicated thread enters
/// the namespace with setns(2) (which acts on the calling thread only) and creates its socket there
/// (a socket belongs to the namespace it was created in). The thread exits afterwards, so no pool
/// thread is ever left in a foreign namespace.
/// </summary>
internal static partial class NamespaceUdp
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>Sends <paramref name="payload"/> byte-for-byte from <paramref name="source"/> (port 0:
    /// any) to <paramref name="destination"/>; returns the local endpoint actually used.</summary>
    public static IPEndPoint Send(NetNs ns, IPEndPoint source, IPEndPoint destination, byte[] payload)
    {
        IPEndPoint? local = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle($"/var/run/netns/{ns.Name}"))
                {
                    if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    {
                        throw new InvalidOperationException($"setns({ns.Name}) failed: errno {Marshal.GetLastPInvokeError()}");
                    }
                }
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(source);
                int sent = socket.SendTo(payload, destination);
                if (sent != payload.Length)
                {
                    throw new InvalidOperationException($"sent {sent} of {payload.Length} B");
                }
                local = (IPEndPoint)socket.LocalEndPoint!;
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "netns-udp-" + ns.Name,
        };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"the namespace sender thread for {ns.Name} hung");
        }
        if (failure is not null)
        {
            throw new InvalidOperationException($"sending {payload.Length} B from {source} to {destination} in {ns.Name} failed", failure);
        }
        return local!;
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);
}
