using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging;

namespace JumpingVpn.Control.Jumping;

/// <summary>
/// The control workers of a cluster node (docs/threads.md "Control workers", docs/cluster.md "Store calls off
/// the receive thread"): a few threads that run the control frames and sweep work that may wait for the
/// session store, so the UDP receive thread never does. Work is sharded by peer, and each shard is one
/// bounded FIFO served by one thread, so one peer's frames are handled in the order they arrived while a
/// slow store call for one peer holds up only its shard. Enqueueing never blocks: a full shard drops the
/// item and counts it (the client retries, docs/session-spec.md §2.6). <see cref="HasPending"/> tells the
/// receive thread that a peer still has work queued or running, so its later frames queue behind it.
/// </summary>
internal sealed class ControlWorkers : IDisposable
{
    /// <summary>Default number of worker threads: store calls wait on the network, not on a CPU.</summary>
    public const int DefaultWorkers = 4;

    /// <summary>Default items per shard: a burst of reattaches after a node failure fits, a flood does not.</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>Buckets of the pending-peer count (a power of two; a collision only sends a frame to a worker).</summary>
    private const int PendingBuckets = 4096;

    private readonly IControlHandler _handler;
    private readonly ILogger _logger;
    private readonly Shard[] _shards;
    private readonly int[] _pending = new int[PendingBuckets];
    private volatile bool _stopping;
    private long _dropped;
    private long _handled;
    private long _waitMicrosTotal;
    private long _lastWaitMicros;

    public ControlWorkers(IControlHandler handler, ILogger logger, int workers = DefaultWorkers, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _handler = handler;
        _logger = logger;
        _shards = new Shard[workers];
        for (int i = 0; i < workers; i++)
        {
            _shards[i] = new Shard(this, capacity, "jvpn-control-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public int Workers => _shards.Length;

    /// <summary>Items dropped because their shard was full (jvpn_control_queue_dropped_total).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Items handled by the workers.</summary>
    public long Handled => Interlocked.Read(ref _handled);

    /// <summary>Sum of the time items waited in their queue before a worker took them, µs.</summary>
    public long WaitMicrosTotal => Interlocked.Read(ref _waitMicrosTotal);

    /// <summary>How long the most recently taken item had waited, µs.</summary>
    public long LastWaitMicros => Interlocked.Read(ref _lastWaitMicros);

    /// <summary>Items queued or running now, all shards.</summary>
    public int Depth
    {
        get
        {
            int depth = 0;
            foreach (Shard s in _shards)
            {
                depth += s.Count;
            }
            return depth;
        }
    }

    public void Start()
    {
        foreach (Shard s in _shards)
        {
            s.Thread.Start();
        }
    }

    /// <summary>Whether <paramref name="peer"/> has an item queued or running (its next frames must queue behind it).</summary>
    public bool HasPending(Peer peer) => Volatile.Read(ref _pending[Bucket(peer)]) > 0;

    /// <summary>Copies a control frame into its peer's shard; false (counted) when the shard is full. Never blocks.</summary>
    public bool TryEnqueue(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from)
    {
        Shard shard = ShardOf(peer);
        Interlocked.Increment(ref _pending[Bucket(peer)]);
        if (shard.TryAdd(peer, type, frame, from, null))
        {
            return true;
        }
        Interlocked.Decrement(ref _pending[Bucket(peer)]);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Queues the due sweep work of <paramref name="session"/> on its peer's shard; false (counted) when full.</summary>
    public bool TryEnqueueSweep(ServerSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        Shard shard = ShardOf(session.Peer);
        Interlocked.Increment(ref _pending[Bucket(session.Peer)]);
        if (shard.TryAdd(session.Peer, default, default, null, session))
        {
            return true;
        }
        Interlocked.Decrement(ref _pending[Bucket(session.Peer)]);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    private static int Hash(Peer peer)
    {
        // Identity hash, mixed so that neighbouring values spread over shards and buckets.
        uint h = (uint)RuntimeHelpers.GetHashCode(peer);
        h ^= h >> 16;
        h *= 0x7feb352d;
        h ^= h >> 15;
        return (int)(h & 0x7fffffff);
    }

    private static int Bucket(Peer peer) => Hash(peer) & (PendingBuckets - 1);

    /// <summary>Which worker serves <paramref name="peer"/> (fixed for the peer's lifetime).</summary>
    internal int ShardIndex(Peer peer) => (Hash(peer) >> 12) % _shards.Length;

    private Shard ShardOf(Peer peer) => _shards[ShardIndex(peer)];

    private void Run(ControlWork work)
    {
        long waited = (Stopwatch.GetTimestamp() - work.QueuedTicks) * 1_000_000 / Stopwatch.Frequency;
        Interlocked.Add(ref _waitMicrosTotal, waited);
        Interlocked.Exchange(ref _lastWaitMicros, waited);
        Peer peer = work.Peer!;
        try
        {
            if (work.Session is { } session)
            {
                _handler.SweepDue(session);
            }
            else
            {
                _handler.Handle(peer, work.Type, work.Frame, work.From);
            }
        }
        catch (Exception ex)
        {
            // One bad item must not stop the shard: every later frame of its peers would wait forever.
            _logger.LogError(ex, "control worker: handling a {Type} frame failed", work.Session is null ? work.Type.ToString() : "sweep");
        }
        finally
        {
            Interlocked.Decrement(ref _pending[Bucket(peer)]);
            Interlocked.Increment(ref _handled);
        }
    }

    /// <summary>Stops the workers; items still queued are dropped (the node is going away).</summary>
    public void Dispose()
    {
        _stopping = true;
        foreach (Shard s in _shards)
        {
            s.Wake();
        }
        foreach (Shard s in _shards)
        {
            if (s.Thread.IsAlive)
            {
                s.Thread.Join(TimeSpan.FromSeconds(2));
            }
            if (!s.Thread.IsAlive)
            {
                s.Dispose(); // a worker still inside a store call keeps its semaphore; it returns when the call does
            }
        }
    }

    /// <summary>
    /// One worker's bounded FIFO: a ring of reusable slots. The producer fills the slot after the last one
    /// under the shard's lock (a copy of a few hundred bytes); the single consumer reads the head slot
    /// outside the lock and frees it only when handled, so a slot is never reused while in use.
    /// </summary>
    private sealed class Shard : IDisposable
    {
        private readonly ControlWorkers _owner;
        private readonly ControlWork[] _ring;
        private readonly Lock _lock = new();
        private readonly SemaphoreSlim _signal = new(0);
        private int _head;
        private int _count;

        public Shard(ControlWorkers owner, int capacity, string name)
        {
            _owner = owner;
            _ring = new ControlWork[capacity];
            for (int i = 0; i < capacity; i++)
            {
                _ring[i] = new ControlWork();
            }
            Thread = new Thread(Loop) { IsBackground = true, Name = name };
        }

        public Thread Thread { get; }

        public int Count => Volatile.Read(ref _count);

        public bool TryAdd(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress? from, ServerSession? session)
        {
            lock (_lock)
            {
                if (_count == _ring.Length || _owner._stopping)
                {
                    return false;
                }
                ControlWork slot = _ring[(_head + _count) % _ring.Length];
                long now = Stopwatch.GetTimestamp();
                if (session is not null)
                {
                    slot.SetSweep(session, now);
                }
                else
                {
                    slot.SetFrame(peer, type, frame, from!, now);
                }
                _count++;
            }
            _signal.Release();
            return true;
        }

        public void Wake() => _signal.Release();

        private void Loop()
        {
            while (true)
            {
                _signal.Wait();
                if (_owner._stopping)
                {
                    return;
                }
                ControlWork work;
                lock (_lock)
                {
                    if (_count == 0)
                    {
                        continue;
                    }
                    work = _ring[_head];
                }
                _owner.Run(work);
                work.Clear();
                lock (_lock)
                {
                    _head = (_head + 1) % _ring.Length;
                    _count--;
                }
                if (_owner._stopping)
                {
                    return;
                }
            }
        }

        public void Dispose() => _signal.Dispose();
    }
}
