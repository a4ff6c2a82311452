using JumpingVpn.Ui.Hosting;

namespace JumpingVpn.Ui.Manager;

/// <summary>The last lines a tunnel's process wrote (stdout and stderr), bounded so a chatty tunnel cannot grow the manager.</summary>
internal sealed class LogRing(int capacity)
{
    private readonly TunnelLogLine[] _lines = new TunnelLogLine[Math.Max(1, capacity)];
    private readonly Lock _lock = new();
    private int _next;
    private int _count;

    public void Add(TunnelLogLine line)
    {
        lock (_lock)
        {
            _lines[_next] = line;
            _next = (_next + 1) % _lines.Length;
            _count = Math.Min(_count + 1, _lines.Length);
        }
    }

    /// <summary>The last <paramref name="max"/> lines, oldest first.</summary>
    public IReadOnlyList<TunnelLogLine> Last(int max)
    {
        lock (_lock)
        {
            int n = Math.Clamp(max, 0, _count);
            var result = new TunnelLogLine[n];
            int start = (_next - n + _lines.Length) % _lines.Length;
            for (int i = 0; i < n; i++)
            {
                result[i] = _lines[(start + i) % _lines.Length];
            }
            return result;
        }
    }
}
