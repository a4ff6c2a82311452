using System.Runtime.InteropServices;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// Runs test code inside a namespace on a dedicated thread: setns(2) acts on the calling thread only,
/// sockets created there belong to that namespace, and the thread ends with the work, so no pool
/// thread is ever left in a foreign namespace (as <see cref="NamespaceUdp"/> does for one send).
/// </summary>
internal static partial class NamespaceThread
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>Starts <paramref name="work"/> in <paramref name="ns"/>; <see cref="Running{T}.Result"/> waits for it.</summary>
    public static Running<T> Start<T>(NetNs ns, string name, Func<T> work) => new(ns, name, work);

    internal sealed class Running<T>
    {
        private readonly Thread _thread;
        private readonly string _description;
        private T? _result;
        private Exception? _failure;

        public Running(NetNs ns, string name, Func<T> work)
        {
            _description = $"{name} in {ns.Name}";
            _thread = new Thread(() =>
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
                    _result = work();
                }
                catch (Exception e)
                {
                    _failure = e;
                }
            })
            {
                IsBackground = true,
                Name = name,
            };
            _thread.Start();
        }

        public T Result(TimeSpan timeout)
        {
            if (!_thread.Join(timeout))
            {
                throw new TimeoutException($"{_description} did not finish within {timeout.TotalSeconds:0} s");
            }
            if (_failure is not null)
            {
                throw new InvalidOperationException($"{_description} failed", _failure);
            }
            return _result!;
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nsType);
}
