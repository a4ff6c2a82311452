using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A socket created inside a namespace: a dedicated thread enters it with setns(2) (which acts on the calling
/// thread only), creates the socket and exits. A socket stays in the namespace it was created in, so the test can
/// then use it from any thread, and no thread is left in a foreign namespace.
/// </summary>
internal static partial class NamespaceSocket
{
    private const int CloneNewNet = 0x40000000;

    public static Socket Create(NetNs ns, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
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
                socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "netns-socket-" + ns.Name,
        };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"the namespace socket thread for {ns.Name} hung");
        }
        return failure is null ? socket! : throw new InvalidOperationException($"cannot create a socket in {ns.Name}", failure);
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);
}
