using JumpingVpn.Control.Uapi.Sessions;

namespace JumpingVpn.Ui.Tunnel.Timeline;

/// <summary>
/// The handover timeline of one tunnel (docs/ui.md "Timeline"), sans-I/O: fed status readings by whoever reads the
/// tunnel (<see cref="TimelineSampler"/> every second, the tunnel page's own reads in between), it keeps the last
/// window (5 minutes) of samples in fixed arrays: which link carried the tunnel, RTT and loss per link, throughput
/// in and out from the transfer counters, and every switch with its reason and gap. Memory is bounded whatever
/// runs: at most <see cref="Capacity"/> samples of at most <see cref="MaxLinks"/> links and <see cref="MaxSwitches"/>
/// switches. Time comes from the injected <see cref="TimeProvider"/>; safe for one writer and many readers.
/// </summary>
public sealed class TimelineRecorder
{
    /// <summary>Links tracked at once; a phone or laptop has two or three, the rest of an odd host's are not drawn.</summary>
    public const int MaxLinks = 8;

    /// <summary>Switches kept; the client's switch cap (8 per 60 s, docs/paths.md) allows 40 in 5 minutes.</summary>
    public const int MaxSwitches = 64;

    /// <summary>Two switch reports closer than this with the same links, reason and gap are one switch seen twice.</summary>
    private const long SameSwitchToleranceMs = 1_000;

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly long _windowMs;
    private readonly long _minSpacingMs;

    // Ring buffer of samples: index (_start + i) % Capacity for the i-th oldest.
    private readonly long[] _t;
    private readonly double[] _rx;
    private readonly double[] _tx;
    private readonly sbyte[] _active;
    private readonly float[] _rtt;  // [sample * MaxLinks + link], NaN: absent or unmeasured
    private readonly float[] _loss; // same layout
    private int _start;
    private int _count;

    private readonly string?[] _links = new string?[MaxLinks];
    private readonly long[] _linkFirstSeen = new long[MaxLinks];
    private readonly long[] _linkLastSeen = new long[MaxLinks];

    private readonly List<TimelineSwitch> _switches = new(MaxSwitches);

    private ulong _lastRx;
    private ulong _lastTx;
    private long _lastCountersMs = -1;

    public TimelineRecorder(TimeProvider time, TimeSpan window, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.FromMilliseconds(10));
        ArgumentOutOfRangeException.ThrowIfLessThan(window, interval);
        _time = time;
        _windowMs = (long)window.TotalMilliseconds;
        IntervalMs = (long)interval.TotalMilliseconds;
        // Readings closer than half an interval add no sample (the page reads between the sampler's ticks), so
        // the window never holds more than twice its nominal count.
        _minSpacingMs = IntervalMs / 2;
        Capacity = (int)(_windowMs / _minSpacingMs) + 2;
        _t = new long[Capacity];
        _rx = new double[Capacity];
        _tx = new double[Capacity];
        _active = new sbyte[Capacity];
        _rtt = new float[Capacity * MaxLinks];
        _loss = new float[Capacity * MaxLinks];
    }

    public TimelineRecorder(TimeProvider time)
        : this(time, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1))
    {
    }

    /// <summary>The sampling interval the page is told about (the sampler's period).</summary>
    public long IntervalMs { get; }

    /// <summary>The most samples ever held: window / (interval / 2) + 2.</summary>
    public int Capacity { get; }

    /// <summary>Samples held now (tests: the memory bound).</summary>
    public int SampleCount
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// Takes one reading: a sample (unless the previous one is less than half an interval old) and any switch not
    /// yet known. The reading's switch ages are turned into times with this recorder's clock.
    /// </summary>
    public void Record(TimelineInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            Prune(now);
            AddSwitches(input.Switches, now);
            if (_count > 0 && now - _t[Index(_count - 1)] < _minSpacingMs)
            {
                return;
            }
            AddSample(input, now);
        }
    }

    /// <summary>The switches in the window, oldest first.</summary>
    public IReadOnlyList<TimelineSwitch> Switches()
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            Prune(now);
            return [.. _switches];
        }
    }

    /// <summary>Samples taken after <paramref name="sinceMs"/> (Unix ms; 0 for the whole window) and the switches after it.</summary>
    public TimelineSeries Read(long sinceMs)
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            Prune(now);
            int first = 0;
            while (first < _count && _t[Index(first)] <= sinceMs)
            {
                first++;
            }
            int n = _count - first;
            var t = new long[n];
            var rx = new double?[n];
            var tx = new double?[n];
            var active = new int[n];

            // Links in the order they were first seen, so a link keeps its colour on the page.
            int[] order = LinkOrder();
            var listIndex = new int[MaxLinks];
            Array.Fill(listIndex, -1);
            var links = new List<TimelineLink>(order.Length);
            for (int k = 0; k < order.Length; k++)
            {
                listIndex[order[k]] = k;
                links.Add(new TimelineLink(_links[order[k]]!, new double?[n], new double?[n]));
            }
            for (int i = 0; i < n; i++)
            {
                int s = Index(first + i);
                t[i] = _t[s];
                rx[i] = double.IsNaN(_rx[s]) ? null : _rx[s];
                tx[i] = double.IsNaN(_tx[s]) ? null : _tx[s];
                active[i] = _active[s] >= 0 ? listIndex[_active[s]] : -1;
                for (int k = 0; k < order.Length; k++)
                {
                    float rtt = _rtt[(s * MaxLinks) + order[k]];
                    float loss = _loss[(s * MaxLinks) + order[k]];
                    links[k].RttMs[i] = float.IsNaN(rtt) ? null : Math.Round(rtt, 1);
                    links[k].Loss[i] = float.IsNaN(loss) ? null : Math.Round(loss, 3);
                }
            }
            var switches = new List<TimelineSwitch>();
            foreach (TimelineSwitch sw in _switches)
            {
                if (sw.AtMs > sinceMs)
                {
                    switches.Add(sw);
                }
            }
            return new TimelineSeries(now, _windowMs, IntervalMs, t, rx, tx, active, links, switches);
        }
    }

    private void AddSample(TimelineInput input, long now)
    {
        if (_count == Capacity)
        {
            // Cannot happen with the spacing rule and pruning; keeps the bound if the clock jumps back.
            _start = (_start + 1) % Capacity;
            _count--;
        }
        int s = Index(_count);
        _count++;
        _t[s] = now;
        (_rx[s], _tx[s]) = Rates(input, now);
        _active[s] = -1;
        Array.Fill(_rtt, float.NaN, s * MaxLinks, MaxLinks);
        Array.Fill(_loss, float.NaN, s * MaxLinks, MaxLinks);
        foreach (PathStatus p in input.Paths)
        {
            int link = LinkSlot(p.Interface, now);
            if (link < 0)
            {
                continue;
            }
            _rtt[(s * MaxLinks) + link] = p.RttMs < 0 ? float.NaN : (float)p.RttMs;
            _loss[(s * MaxLinks) + link] = (float)p.Loss;
            if (p.Role == "active")
            {
                _active[s] = (sbyte)link;
            }
        }
    }

    /// <summary>Bytes per second since the previous reading; NaN for the first and when a counter went backwards (restart).</summary>
    private (double Rx, double Tx) Rates(TimelineInput input, long now)
    {
        double rx = double.NaN;
        double tx = double.NaN;
        if (_lastCountersMs >= 0 && now > _lastCountersMs && input.RxBytes >= _lastRx && input.TxBytes >= _lastTx)
        {
            double seconds = (now - _lastCountersMs) / 1000.0;
            rx = (input.RxBytes - _lastRx) / seconds;
            tx = (input.TxBytes - _lastTx) / seconds;
        }
        _lastRx = input.RxBytes;
        _lastTx = input.TxBytes;
        _lastCountersMs = now;
        return (rx, tx);
    }

    /// <summary>The slot of a link, taking a free one (or one not seen in the window) for a new name; -1 when all are in use.</summary>
    private int LinkSlot(string name, long now)
    {
        int free = -1;
        for (int i = 0; i < MaxLinks; i++)
        {
            if (_links[i] == name)
            {
                _linkLastSeen[i] = now;
                return i;
            }
            if (free < 0 && _links[i] is null)
            {
                free = i;
            }
        }
        if (free >= 0)
        {
            _links[free] = name;
            _linkFirstSeen[free] = now;
            _linkLastSeen[free] = now;
        }
        return free;
    }

    private void AddSwitches(IReadOnlyList<PathSwitchStatus> reported, long now)
    {
        foreach (PathSwitchStatus r in reported)
        {
            long at = now - Math.Max(0, r.AgeMs);
            if (at <= now - _windowMs || Known(r, at))
            {
                continue;
            }
            var sw = new TimelineSwitch(at, r.From, r.To, r.Reason, r.GapMs, SwitchSentence.Describe(r.From, r.To, r.Reason, r.GapMs));
            int i = _switches.Count;
            while (i > 0 && _switches[i - 1].AtMs > at)
            {
                i--;
            }
            _switches.Insert(i, sw);
            if (_switches.Count > MaxSwitches)
            {
                _switches.RemoveAt(0);
            }
        }
    }

    private bool Known(PathSwitchStatus r, long at)
    {
        foreach (TimelineSwitch s in _switches)
        {
            if (Math.Abs(s.AtMs - at) <= SameSwitchToleranceMs && s.GapMs == r.GapMs
                && s.From == r.From && s.To == r.To && s.Reason == r.Reason)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Drops samples and switches older than the window, and frees links no sample in the window mentions.</summary>
    private void Prune(long now)
    {
        long oldest = now - _windowMs;
        while (_count > 0 && _t[_start] <= oldest)
        {
            _start = (_start + 1) % Capacity;
            _count--;
        }
        while (_switches.Count > 0 && _switches[0].AtMs <= oldest)
        {
            _switches.RemoveAt(0);
        }
        for (int i = 0; i < MaxLinks; i++)
        {
            if (_links[i] is not null && _linkLastSeen[i] <= oldest)
            {
                _links[i] = null;
            }
        }
    }

    private int[] LinkOrder()
    {
        int n = 0;
        for (int i = 0; i < MaxLinks; i++)
        {
            if (_links[i] is not null)
            {
                n++;
            }
        }
        int[] order = new int[n];
        n = 0;
        for (int i = 0; i < MaxLinks; i++)
        {
            if (_links[i] is not null)
            {
                order[n++] = i;
            }
        }
        Array.Sort(order, (a, b) => _linkFirstSeen[a] != _linkFirstSeen[b] ? _linkFirstSeen[a].CompareTo(_linkFirstSeen[b]) : a.CompareTo(b));
        return order;
    }

    private int Index(int i) => (_start + i) % Capacity;
}
