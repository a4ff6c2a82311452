using System.Collections.Concurrent;
using JumpingVpn.Control.Uapi;
using JumpingVpn.Ui.Hosting;
using JumpingVpn.Ui.Tunnel.Timeline;

namespace JumpingVpn.Ui.Tunnel;

/// <summary>
/// Drives a <see cref="TimelineRecorder"/> per active client tunnel (docs/ui.md "Timeline"): every interval it reads
/// each active tunnel over UAPI and feeds the reading to that tunnel's recorder, so the timeline covers the last
/// five minutes whether or not a page is open. Server tunnels are not sampled: their story is the sessions table,
/// and a get=1 of 100k peers every second would cost the manager more than the chart is worth. A tunnel that leaves
/// the directory loses its recorder; one that stops keeps it (no new samples) until it ages out of the window.
/// </summary>
public sealed class TimelineSampler : IAsyncDisposable
{
    private readonly ITunnelDirectory _directory;
    private readonly TimeProvider _time;
    private readonly string? _socketDirectory;
    private readonly TimeSpan _interval;
    private readonly ConcurrentDictionary<string, TimelineRecorder> _recorders = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    public TimelineSampler(ITunnelDirectory directory, TimeProvider time, string? socketDirectory, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(time);
        _directory = directory;
        _time = time;
        _socketDirectory = socketDirectory;
        _interval = interval;
    }

    /// <summary>Starts the background loop (idempotent use is not needed: the module starts it once).</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>The recorder of a tunnel, created on first use (the page's reads feed it too).</summary>
    public TimelineRecorder RecorderFor(string tunnel) =>
        _recorders.GetOrAdd(tunnel, _ => new TimelineRecorder(_time, TimeSpan.FromMinutes(5), _interval));

    /// <summary>The recorder of a tunnel if it has one.</summary>
    public TimelineRecorder? Existing(string tunnel) => _recorders.GetValueOrDefault(tunnel);

    /// <summary>One round: read every active client tunnel once. Public for tests, which drive it without the timer.</summary>
    public void SampleOnce()
    {
        IReadOnlyList<TunnelEntry> tunnels = _directory.List();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (TunnelEntry t in tunnels)
        {
            known.Add(t.Name);
            if (t.State != TunnelState.Active || t.IsServer)
            {
                continue;
            }
            try
            {
                RecorderFor(t.Name).Record(TunnelReading.Read(t.InterfaceName, _socketDirectory).ToTimelineInput());
            }
            catch (UapiException)
            {
                // Starting or stopping under us: the next round reads it again; the gap shows as missing samples.
            }
        }
        foreach (string name in _recorders.Keys)
        {
            if (!known.Contains(name))
            {
                _recorders.TryRemove(name, out _);
            }
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                SampleOnce();
                await Task.Delay(_interval, _time, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Stops the loop and waits for a round in progress; a second call does nothing (host and test may both dispose).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
