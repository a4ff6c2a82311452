using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using JumpingVpn.Control.Frames;
using JumpingVpn.Control.Jumping;
using JumpingVpn.Control.Jumping.Server;
using JumpingVpn.Control.Policy;
using JumpingVpn.Control.Sessions;
using JumpingVpn.Testing;
using JumpingVpn.Tunnel.Crypto;
using JumpingVpn.Tunnel.Device;
using Microsoft.Extensions.Logging.Abstractions;

namespace JumpingVpn.Tests.Control.Jumping;

/// <summary>
/// The control workers' queue (docs/threads.md "Control workers"): per-peer order, a blocked peer holds up
/// only its own shard, a full shard drops and counts without blocking the caller, the pending mark that
/// keeps a peer's later frames behind its queued ones, and a failing item that does not stop its shard.
/// </summary>
public sealed class ControlWorkersTests
{
    private static readonly SocketAddress From = EndpointCodec.ToSocketAddress(new IPEndPoint(IPAddress.Parse("192.0.2.9"), 4242), dualMode: false);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly WireGuardDevice _device;
    private readonly DeterministicRandom _random = new(7);

    public ControlWorkersTests()
    {
        _device = new WireGuardDevice(new DeviceOptions { Time = new ManualTimeProvider(), Random = _random.Fill }, new WireSender());
        byte[] key = new byte[32];
        X25519.GeneratePrivateKey(key, _random.Fill);
        _device.SetPrivateKey(key);
    }

    private Peer NewPeer()
    {
        byte[] priv = new byte[32];
        X25519.GeneratePrivateKey(priv, _random.Fill);
        byte[] pub = new byte[32];
        X25519.DerivePublicKey(priv, pub);
        return _device.AddPeer(pub, new byte[32]);
    }

    private static byte[] Frame(int sequence) => [0x00, (byte)ControlFrameType.Keepalive, (byte)(sequence >> 8), (byte)sequence];

    /// <summary>Records what ran, in order; blocks any item of <see cref="Blocked"/> until the gate opens.</summary>
    private sealed class RecordingHandler : IControlHandler
    {
        public ConcurrentQueue<(Peer Peer, int Sequence, string Thread, int Port)> Frames { get; } = new();
        public ConcurrentQueue<ServerSession> Sweeps { get; } = new();
        public ManualResetEventSlim Gate { get; } = new(true);
        public Peer? Blocked { get; set; }
        public Peer? Throws { get; set; }

        public void Handle(Peer peer, ControlFrameType type, ReadOnlySpan<byte> frame, SocketAddress from)
        {
            int sequence = (frame[2] << 8) | frame[3];
            if (peer == Blocked)
            {
                Gate.Wait();
            }
            if (peer == Throws)
            {
                throw new InvalidOperationException("a handler failure");
            }
            Frames.Enqueue((peer, sequence, Thread.CurrentThread.Name ?? "", EndpointCodec.ToIPEndPoint(from).Port));
        }

        public void SweepDue(ServerSession session) => Sweeps.Enqueue(session);
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < Patience, "timed out waiting for " + what);
            Thread.Sleep(2);
        }
    }

    [Fact]
    public void Each_peers_frames_are_handled_in_arrival_order_on_a_control_thread_with_the_source_address()
    {
        var handler = new RecordingHandler();
        using var workers = new ControlWorkers(handler, NullLogger.Instance, workers: 3, capacity: 512);
        workers.Start();
        Peer[] peers = [NewPeer(), NewPeer(), NewPeer(), NewPeer(), NewPeer()];
        for (int i = 0; i < 100; i++)
        {
            foreach (Peer p in peers)
            {
                Assert.True(workers.TryEnqueue(p, ControlFrameType.Keepalive, Frame(i), From));
            }
        }
        WaitUntil(() => handler.Frames.Count == 500, "500 frames");
        foreach (Peer p in peers)
        {
            int[] seen = [.. handler.Frames.Where(f => f.Peer == p).Select(f => f.Sequence)];
            Assert.Equal(Enumerable.Range(0, 100), seen);
            Assert.False(workers.HasPending(p));
        }
        Assert.All(handler.Frames, f => Assert.StartsWith("jvpn-control-", f.Thread, StringComparison.Ordinal));
        Assert.All(handler.Frames, f => Assert.Equal(4242, f.Port));
        Assert.Equal(500, workers.Handled);
        Assert.Equal(0, workers.Dropped);
    }

    [Fact]
    public void A_peer_blocked_in_the_store_holds_up_only_its_own_shard_and_its_later_frames_stay_pending_behind_it()
    {
        var handler = new RecordingHandler();
        handler.Gate.Reset();
        using var workers = new ControlWorkers(handler, NullLogger.Instance, workers: 2, capacity: 16);
        workers.Start();
        Peer slow = NewPeer();
        Peer other = NewPeer();
        while (workers.ShardIndex(other) == workers.ShardIndex(slow))
        {
            other = NewPeer();
        }
        handler.Blocked = slow;
        Assert.True(workers.TryEnqueue(slow, ControlFrameType.Hello, Frame(1), From));
        Assert.True(workers.TryEnqueue(slow, ControlFrameType.Keepalive, Frame(2), From));
        Assert.True(workers.HasPending(slow));
        Assert.True(workers.TryEnqueue(other, ControlFrameType.Hello, Frame(1), From));
        WaitUntil(() => handler.Frames.Any(f => f.Peer == other), "the other peer's frame");
        Assert.DoesNotContain(handler.Frames, f => f.Peer == slow);
        Assert.True(workers.HasPending(slow));
        Assert.False(workers.HasPending(other));
        Assert.Equal(2, workers.Depth);

        handler.Gate.Set();
        WaitUntil(() => handler.Frames.Count(f => f.Peer == slow) == 2, "the blocked peer's frames");
        Assert.Equal([1, 2], handler.Frames.Where(f => f.Peer == slow).Select(f => f.Sequence));
        WaitUntil(() => !workers.HasPending(slow), "the pending mark to clear");
    }

    [Fact]
    public void A_full_shard_drops_and_counts_without_blocking_the_caller()
    {
        var handler = new RecordingHandler();
        handler.Gate.Reset();
        using var workers = new ControlWorkers(handler, NullLogger.Instance, workers: 1, capacity: 4);
        workers.Start();
        Peer p = NewPeer();
        handler.Blocked = p;
        var sw = Stopwatch.StartNew();
        int accepted = 0;
        for (int i = 0; i < 50; i++)
        {
            accepted += workers.TryEnqueue(p, ControlFrameType.Hello, Frame(i), From) ? 1 : 0;
        }
        sw.Stop();
        Assert.Equal(4, accepted);
        Assert.Equal(46, workers.Dropped);
        Assert.True(sw.ElapsedMilliseconds < 1000, $"enqueueing 50 frames onto a blocked shard took {sw.ElapsedMilliseconds} ms");
        handler.Gate.Set();
        WaitUntil(() => handler.Frames.Count == 4, "the 4 queued frames");
        Assert.Equal([0, 1, 2, 3], handler.Frames.Select(f => f.Sequence));
        Assert.True(workers.TryEnqueue(p, ControlFrameType.Hello, Frame(99), From), "room again once handled");
        WaitUntil(() => handler.Frames.Count == 5, "the frame after the drops");
    }

    [Fact]
    public void A_failing_item_does_not_stop_its_shard_and_sweep_items_reach_the_sweep_handler()
    {
        var handler = new RecordingHandler();
        using var workers = new ControlWorkers(handler, NullLogger.Instance, workers: 1, capacity: 8);
        workers.Start();
        Peer bad = NewPeer();
        Peer good = NewPeer();
        handler.Throws = bad;
        Assert.True(workers.TryEnqueue(bad, ControlFrameType.Hello, Frame(1), From));
        Assert.True(workers.TryEnqueue(good, ControlFrameType.Hello, Frame(2), From));
        var session = new ServerSession(good, new SessionSlot(SessionId.Read([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), SessionPolicy.Default, 0, null));
        Assert.True(workers.TryEnqueueSweep(session));
        WaitUntil(() => handler.Sweeps.Count == 1, "the sweep item");
        Assert.Single(handler.Frames);
        Assert.Equal(good, handler.Frames.Single().Peer);
        Assert.Same(session, handler.Sweeps.Single());
        WaitUntil(() => !workers.HasPending(bad) && !workers.HasPending(good), "both peers to be done");
    }
    [Fact]
    public void Queueing_a_frame_allocates_nothing_on_the_receive_thread_once_the_slots_are_warm()
    {
        var handler = new RecordingHandler();
        using var workers = new ControlWorkers(handler, NullLogger.Instance, workers: 1, capacity: 16);
        workers.Start();
        Peer p = NewPeer();
        byte[] frame = Frame(1);
        for (int i = 0; i < 64; i++)
        {
            Assert.True(workers.TryEnqueue(p, ControlFrameType.Keepalive, frame, From));
            WaitUntil(() => !workers.HasPending(p), "the warm-up frame");
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 16; i++)
        {
            workers.TryEnqueue(p, ControlFrameType.Keepalive, frame, From);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        WaitUntil(() => !workers.HasPending(p), "the measured frames");
    }
}
