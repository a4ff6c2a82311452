using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace JumpingVpn.Tests.Infrastructure;

/// <summary>
/// A TCP relay for a slow or silent store (docs/cluster.md "Store calls off the receive thread"): every chunk read
/// from either side is written to the other <see cref="OneWayLatency"/> later (order kept, so the latency adds to
/// each request and to each reply, not to the throughput), and <see cref="Blackhole"/> keeps accepting and
/// reading but forwards nothing until it is switched off, then delivers what it held. It listens inside a
/// namespace we created (its threads enter it with setns(2), which acts on the calling thread only, and threads
/// they start inherit it) or, without one, on loopback. Every socket and thread it made ends with Dispose.
/// </summary>
internal sealed partial class LatencyTcpProxy : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    private readonly NetNs? _ns;
    private readonly IPEndPoint _upstream;
    private readonly Socket _listener;
    private readonly Thread _acceptor;
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly ConcurrentBag<Thread> _threads = [];
    private readonly CancellationTokenSource _stop = new();
    private long _latencyTicks;
    private volatile bool _blackhole;
    private long _chunks;

    private LatencyTcpProxy(NetNs? ns, Socket listener, IPEndPoint upstream)
    {
        _ns = ns;
        _listener = listener;
        _upstream = upstream;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "latency-proxy-accept" };
    }

    /// <summary>Where clients connect (the address and port the relay listens on).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Added to every chunk in each direction (a request and its reply pay it twice).</summary>
    public TimeSpan OneWayLatency
    {
        get => TimeSpan.FromSeconds(Interlocked.Read(ref _latencyTicks) / (double)Stopwatch.Frequency);
        set => Interlocked.Exchange(ref _latencyTicks, (long)(value.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>While true, bytes are read and held but not forwarded (a store that stops answering).</summary>
    public bool Blackhole
    {
        get => _blackhole;
        set => _blackhole = value;
    }

    /// <summary>Chunks forwarded so far, both directions.</summary>
    public long Chunks => Interlocked.Read(ref _chunks);

    /// <summary>Listens on <paramref name="listen"/> (port 0: any) inside <paramref name="ns"/> (null: this namespace) and relays to <paramref name="upstream"/>.</summary>
    public static LatencyTcpProxy Start(NetNs? ns, IPEndPoint listen, IPEndPoint upstream)
    {
        Socket listener = InNamespace(ns, () =>
        {
            var s = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(listen);
            s.Listen(64);
            return s;
        });
        var proxy = new LatencyTcpProxy(ns, listener, upstream);
        proxy._acceptor.Start();
        return proxy;
    }

    /// <summary>Runs <paramref name="create"/> on a short-lived thread inside <paramref name="ns"/>, so the socket it makes belongs there.</summary>
    private static T InNamespace<T>(NetNs? ns, Func<T> create)
    {
        if (ns is null)
        {
            return create();
        }
        T? result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                EnterNamespace(ns);
                result = create();
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "latency-proxy-setns",
        };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"creating a socket in {ns.Name} hung");
        }
        return failure is null ? result! : throw new InvalidOperationException($"creating a socket in {ns.Name} failed", failure);
    }

    private static void EnterNamespace(NetNs ns)
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle($"/var/run/netns/{ns.Name}");
        if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
        {
            throw new InvalidOperationException($"setns({ns.Name}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private void AcceptLoop()
    {
        try
        {
            if (_ns is not null)
            {
                EnterNamespace(_ns); // the upstream sockets are made here, so they must belong to the namespace too
            }
            while (!_stop.IsCancellationRequested)
            {
                Socket client = _listener.Accept();
                _sockets.Add(client);
                var upstream = new Socket(_upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                _sockets.Add(upstream);
                try
                {
                    upstream.Connect(_upstream);
                }
                catch (SocketException)
                {
                    client.Dispose(); // the store is down: the client sees its connection closed, as it would
                    continue;
                }
                client.NoDelay = true;
                upstream.NoDelay = true;
                Relay(client, upstream, "up");
                Relay(upstream, client, "down");
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Disposed: the relay is shutting down.
        }
    }

    /// <summary>One direction: a reader stamps each chunk with its due time, a writer sends it then (or later, while blackholed).</summary>
    private void Relay(Socket from, Socket to, string direction)
    {
        var chunks = new BlockingCollection<(long Due, byte[]? Data)>();
        var reader = new Thread(() =>
        {
            byte[] buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    int n = from.Receive(buffer);
                    if (n == 0)
                    {
                        break;
                    }
                    chunks.Add((Stopwatch.GetTimestamp() + Interlocked.Read(ref _latencyTicks), buffer.AsSpan(0, n).ToArray()));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Closed by either side or by Dispose.
            }
            chunks.Add((Stopwatch.GetTimestamp(), null));
        })
        {
            IsBackground = true,
            Name = "latency-proxy-read-" + direction,
        };
        var writer = new Thread(() =>
        {
            try
            {
                foreach ((long due, byte[]? data) in chunks.GetConsumingEnumerable(_stop.Token))
                {
                    while (!_stop.IsCancellationRequested && (_blackhole || Stopwatch.GetTimestamp() < due))
                    {
                        long waitMs = (due - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                        Thread.Sleep((int)Math.Clamp(waitMs, 1, 20));
                    }
                    if (data is null)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }
                    to.Send(data);
                    Interlocked.Increment(ref _chunks);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Closed by either side or by Dispose.
            }
        })
        {
            IsBackground = true,
            Name = "latency-proxy-write-" + direction,
        };
        _threads.Add(reader);
        _threads.Add(writer);
        reader.Start();
        writer.Start();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (Socket s in _sockets)
        {
            s.Dispose();
        }
        if (!_acceptor.Join(TimeSpan.FromSeconds(5)))
        {
            throw new TimeoutException("the latency proxy's accept thread did not stop");
        }
        foreach (Thread t in _threads)
        {
            t.Join(TimeSpan.FromSeconds(5));
        }
        _stop.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
